//! The PE view, the summary (with and without the whole-file checksum), the description and
//! the Go build-info reader on arbitrary bytes: nothing may panic, and the section and directory
//! tables of a view that parses are whole.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(view) = pegate_pe::PeView::parse(data) {
        let summary = pegate_pe::summarize(&view);
        let _ = pegate_pe::describe(&summary);
        let _ = pegate_pe::summarize_headers(&view);
        // The lazily named flags and the compact names, as printing them does.
        let headers = view.headers();
        let _ = (headers.machine_name(), headers.subsystem_name());
        let _ = headers.characteristics.names();
        for s in &summary.sections {
            let _ = (s.name.as_str(), s.characteristics.names());
        }
        let _ = pegate_go::buildinfo::read(&view);
        for s in view.sections() {
            let _ = view.section_name(s);
        }
        let _ = view.rva_to_file_offset(view.entry_point());
        // The tables are sliced on demand from ranges the parse checked: never cut short.
        assert_eq!(
            view.sections().len(),
            usize::from(headers.number_of_sections)
        );
        let directories = view.data_directories().len();
        assert!((0..16).all(|i| view.data_directory(i).is_some() == (i < directories)));
    }
    // A prefix view of a longer file, as inspect_path builds it.
    let _ = pegate_pe::PeView::parse_prefix(data, u64::MAX);
});
