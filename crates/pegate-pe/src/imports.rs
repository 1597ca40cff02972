//! The import table (data directory 1) and the delay-import table (data directory 13): which
//! DLLs an image needs, how many functions it takes from each by name and by ordinal, and
//! whether each is loaded at start or on first call (delay-loaded).
//!
//! Read the way the Windows loader reads them, over the image as mapped (RVAs through the
//! section table, [`PeView::rva_to_file_offset`]'s rule; bytes of a section past its raw data
//! read as zero):
//!
//! - The import directory's `Size` is not used: the loader walks `IMAGE_IMPORT_DESCRIPTOR`s
//!   (20 bytes) from its RVA until one whose `Name` or `FirstThunk` is 0 (ReactOS
//!   `LdrpWalkImportDescriptor`, which follows ntdll; a well-formed table ends in an all-zero
//!   descriptor, where pefile and llvm-readobj stop too).
//! - The names come from the import lookup table `OriginalFirstThunk` when it points inside the
//!   image (`SizeOfHeaders <= rva < SizeOfImage`), else from the IAT `FirstThunk` (old Borland
//!   linkers write no lookup table; ReactOS `LdrpSnapIAT`). Each thunk is 4 bytes in PE32 and
//!   8 in PE32+; a zero thunk ends the list; the top bit (`IMAGE_ORDINAL_FLAG32`/`64`) marks an
//!   import by ordinal, otherwise the thunk is the RVA of an `IMAGE_IMPORT_BY_NAME`.
//! - Delay-load descriptors (`IMAGE_DELAYLOAD_DESCRIPTOR`, 32 bytes) are read by the delay-load
//!   helper, not the loader; MSVC's `delayhlp.cpp` walks them while `DllNameRVA` is not 0. When
//!   `Attributes` lacks `dlattrRva` (bit 0: Visual C++ 6's format) the fields are virtual
//!   addresses, `ImageBase` is subtracted (as pefile does). The names come from the delay import
//!   name table (`ImportNameTableRVA`).
//!
//! Bounded on hostile input: at most [`MAX_DESCRIPTORS`] descriptors per table, at most
//! [`MAX_THUNKS`] thunks in the whole file, DLL names up to [`MAX_NAME`] bytes; each limit hit is
//! a reported [`ImportError`], not a silent cut. Nothing is allocated by a size read from the
//! file: the view borrows the bytes, the summary grows one entry per descriptor read.
//!
//! The tables lie anywhere in the file, so they are read only when asked for (`pegate inspect
//! --imports`, [`crate::InspectOptions::imports`]), from a view over the whole file.
//!
//! ```
//! let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pe/ok/markupsafe-3.0.2-speedups-win_amd64.pyd")).unwrap();
//! let view = pegate_pe::PeView::parse(&data).unwrap();
//! let imports = pegate_pe::imports::summarize(&view);
//! assert!(imports.errors.is_empty());
//! let python = imports.dlls.iter().find(|d| d.name == "python312.dll").unwrap();
//! assert!(python.by_name > 0 && !python.delay);
//! ```

use object::LittleEndian as LE;
use object::pe::{IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT, IMAGE_DIRECTORY_ENTRY_IMPORT};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{PeView, Problem};

/// The most descriptors read from one table (real images import from a few dozen DLLs).
pub const MAX_DESCRIPTORS: usize = 4096;
/// The most thunks read in the whole file, over every DLL of both tables.
pub const MAX_THUNKS: usize = 1 << 20;
/// The longest DLL name read (the loader's paths are at most 32,767 characters, DLL names in
/// practice under 260).
pub const MAX_NAME: usize = 512;

const IMPORT_DESCRIPTOR_SIZE: u32 = 20;
const DELAY_DESCRIPTOR_SIZE: u32 = 32;

/// Which table a descriptor is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Table {
    /// The import directory (data directory 1): loaded with the image.
    Import,
    /// The delay-import directory (data directory 13): loaded on first call.
    Delay,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Import => "import table",
            Table::Delay => "delay-import table",
        }
    }
}

/// Why (part of) an import table could not be read. Each names the table and the RVA.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// An RVA lies in no section and not in the headers: the loader cannot reach it.
    #[error("{table}: {what} rva {rva:#x} is in no section")]
    Unmapped {
        /// `import table` or `delay-import table`.
        table: &'static str,
        /// What the RVA points at (`descriptor 3`, `name of descriptor 0`, ...).
        what: String,
        /// The RVA.
        rva: u64,
    },
    /// The bytes lie in a section's raw data, past the end of the file.
    #[error(
        "{table}: {what} at rva {rva:#x} (file offset {offset:#x}) runs past the end of the file"
    )]
    Truncated {
        /// `import table` or `delay-import table`.
        table: &'static str,
        /// What the RVA points at.
        what: String,
        /// The RVA.
        rva: u64,
        /// Its file offset.
        offset: u64,
    },
    /// A DLL name longer than [`MAX_NAME`] bytes, or with no NUL before the section ends.
    #[error(
        "{table}: the name of descriptor {index} at rva {rva:#x} has no NUL within {MAX_NAME} bytes"
    )]
    NameTooLong {
        /// `import table` or `delay-import table`.
        table: &'static str,
        /// The descriptor's index.
        index: usize,
        /// The name's RVA.
        rva: u64,
    },
    /// More than [`MAX_DESCRIPTORS`] descriptors; the rest are not read.
    #[error(
        "{table}: more than {MAX_DESCRIPTORS} descriptors from rva {rva:#x}; the rest are not read"
    )]
    TooManyDescriptors {
        /// `import table` or `delay-import table`.
        table: &'static str,
        /// The directory's RVA.
        rva: u64,
    },
    /// More than [`MAX_THUNKS`] thunks in the file; the rest are not counted.
    #[error(
        "{table}: more than {MAX_THUNKS} thunks in the file (at `{dll}`); the rest are not counted"
    )]
    TooManyThunks {
        /// `import table` or `delay-import table`.
        table: &'static str,
        /// The DLL whose thunks were being counted.
        dll: String,
    },
    /// A delay-load descriptor in the Visual C++ 6 format (addresses, not RVAs) with an
    /// address below `ImageBase`.
    #[error("{table}: {what} va {va:#x} is below ImageBase {image_base:#x}")]
    BelowImageBase {
        /// `delay-import table`.
        table: &'static str,
        /// Which field.
        what: String,
        /// The address.
        va: u64,
        /// `ImageBase`.
        image_base: u64,
    },
}

/// Where an RVA lands in the file: the file bytes from there to the end of its section's raw
/// data (or the headers), and how many bytes the image maps from there (the rest read as zero).
#[derive(Debug, Clone, Copy)]
struct Mapped<'data> {
    bytes: &'data [u8],
    offset: u64,
    /// Bytes mapped from the RVA to the end of its section in memory; at least `bytes.len()`
    /// unless the file ends inside the raw data.
    mapped: u64,
    /// The raw data runs past the end of the file.
    file_short: bool,
}

/// Maps an RVA as [`PeView::rva_to_file_offset`] does (same section walk, same raw ranges),
/// keeping the extent.
fn map<'data>(view: &PeView<'data>, rva: u32) -> Option<Mapped<'data>> {
    let data = view.data();
    let slice = |start: u64, file_len: u64, mapped: u64| {
        let end = start.saturating_add(file_len);
        let s = usize::try_from(start).ok();
        let e = usize::try_from(end.min(data.len() as u64)).ok();
        let bytes = match (s, e) {
            (Some(s), Some(e)) if s <= e => data.get(s..e).unwrap_or_default(),
            _ => &[][..],
        };
        Mapped {
            bytes,
            offset: start,
            mapped,
            file_short: end > data.len() as u64,
        }
    };
    let headers = view.size_of_headers();
    if rva < headers {
        let left = u64::from(headers.saturating_sub(rva));
        return Some(slice(u64::from(rva), left, left));
    }
    for s in view.sections() {
        let va = s.virtual_address.get(LE);
        let (start, raw_len) = view.section_file_range(s);
        let raw_size = u32::try_from(raw_len).unwrap_or(u32::MAX);
        let size = s.virtual_size.get(LE).max(raw_size);
        let delta = rva.checked_sub(va)?;
        if delta < size {
            let mapped = u64::from(size.saturating_sub(delta));
            if delta < raw_size {
                let raw_left = u64::from(raw_size.saturating_sub(delta));
                return Some(slice(
                    start.saturating_add(u64::from(delta)),
                    raw_left,
                    mapped,
                ));
            }
            // Past the raw data: zeros in memory.
            return Some(Mapped {
                bytes: &[],
                offset: start.saturating_add(u64::from(delta)),
                mapped,
                file_short: false,
            });
        }
    }
    None
}

/// Reads `N` bytes at `rva` as the mapped image holds them.
fn read<const N: usize>(
    view: &PeView<'_>,
    table: Table,
    rva: u32,
    what: &dyn Fn() -> String,
) -> Result<[u8; N], ImportError> {
    let m = map(view, rva).ok_or_else(|| ImportError::Unmapped {
        table: table.name(),
        what: what(),
        rva: u64::from(rva),
    })?;
    let mut out = [0u8; N];
    let n = m.bytes.len().min(N);
    if let (Some(dst), Some(src)) = (out.get_mut(..n), m.bytes.get(..n)) {
        dst.copy_from_slice(src);
    }
    if n < N {
        if m.file_short {
            return Err(ImportError::Truncated {
                table: table.name(),
                what: what(),
                rva: u64::from(rva),
                offset: m.offset,
            });
        }
        if m.mapped < N as u64 {
            // The rest lies beyond this section in memory: map it on its own.
            let next = rva.checked_add(u32::try_from(m.mapped).unwrap_or(u32::MAX));
            let Some(next) = next else {
                return Err(ImportError::Unmapped {
                    table: table.name(),
                    what: what(),
                    rva: u64::from(rva),
                });
            };
            let at = usize::try_from(m.mapped).unwrap_or(N);
            let rest: [u8; N] = read(view, table, next, what)?;
            for (i, b) in out.iter_mut().enumerate().skip(at) {
                *b = rest.get(i.saturating_sub(at)).copied().unwrap_or(0);
            }
        }
    }
    Ok(out)
}

fn u32_of(b: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    if let Some(s) = b.get(at..at.saturating_add(4)) {
        v.copy_from_slice(s);
    }
    u32::from_le_bytes(v)
}

/// One imported DLL as the tables name it, borrowed from the file's bytes.
#[derive(Debug, Clone, Copy)]
pub struct Module<'data> {
    /// The DLL name as written (no NUL).
    pub name: &'data [u8],
    /// Which table the descriptor is in.
    pub table: Table,
    /// The descriptor's index in its table.
    pub index: usize,
    /// RVA of the thunks that name the functions (lookup table, IAT or delay name table).
    pub thunks_rva: u32,
    /// Subtracted from each name thunk to get an RVA (`ImageBase` for Visual C++ 6 delay
    /// descriptors, else 0).
    pub base: u64,
    view: PeView<'data>,
}

/// One thunk: a function imported by ordinal or by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Thunk {
    /// By ordinal (the top bit set): the ordinal (low 16 bits).
    Ordinal(u16),
    /// By name: the RVA of its `IMAGE_IMPORT_BY_NAME` (hint, then the NUL-terminated name).
    Name(u64),
}

impl<'data> Module<'data> {
    /// The thunks, in order, to the first zero one; an error ends the list.
    pub fn thunks(&self) -> Thunks<'data> {
        Thunks {
            view: self.view,
            table: self.table,
            index: self.index,
            rva: Some(self.thunks_rva),
            done: self.thunks_rva == 0,
            run: &[],
        }
    }
}

/// The thunks of one [`Module`], to the first zero one (the summary counts at most
/// [`MAX_THUNKS`] over the whole file).
#[derive(Debug, Clone)]
pub struct Thunks<'data> {
    view: PeView<'data>,
    table: Table,
    index: usize,
    rva: Option<u32>,
    done: bool,
    /// The file bytes at `rva` to the end of its section's raw data: thunks are read from here
    /// without mapping each RVA through the section table again.
    run: &'data [u8],
}

impl Iterator for Thunks<'_> {
    type Item = Result<Thunk, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (table, index) = (self.table, self.index);
        let what = || format!("thunk of descriptor {index}");
        let Some(rva) = self.rva else {
            self.done = true;
            return Some(Err(ImportError::Unmapped {
                table: table.name(),
                what: what(),
                rva: 1 << 32,
            }));
        };
        let pe32_plus = self.view.is_pe32_plus();
        let width: usize = if pe32_plus { 8 } else { 4 };
        let value = if let (Some(b), Some(rest)) = (self.run.get(..width), self.run.get(width..)) {
            self.run = rest;
            let mut v = [0u8; 8];
            if let Some(d) = v.get_mut(..width) {
                d.copy_from_slice(b);
            }
            Ok(u64::from_le_bytes(v))
        } else {
            // The end of a section's raw data (zeros or the next section in memory, or the end
            // of the file): read through the section table, then map the next run.
            let value = if pe32_plus {
                read::<8>(&self.view, table, rva, &what).map(u64::from_le_bytes)
            } else {
                read::<4>(&self.view, table, rva, &what).map(|b| u64::from(u32::from_le_bytes(b)))
            };
            self.run = rva
                .checked_add(width as u32)
                .and_then(|next| map(&self.view, next))
                .map_or(&[][..], |m| m.bytes);
            value
        };
        let value = match value {
            Ok(v) => v,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        if value == 0 {
            self.done = true;
            return None;
        }
        self.rva = rva.checked_add(width as u32);
        let ordinal_flag = if pe32_plus { 1u64 << 63 } else { 1u64 << 31 };
        Some(Ok(if value & ordinal_flag != 0 {
            Thunk::Ordinal((value & 0xffff) as u16)
        } else {
            Thunk::Name(value)
        }))
    }
}

/// The descriptors of both tables, import table first: each a [`Module`] or the error that
/// stopped its table (the other table is still read).
#[derive(Debug, Clone)]
pub struct Modules<'data> {
    view: PeView<'data>,
    table: Table,
    /// The next descriptor's RVA, and the directory's, of the current table; `None` when done.
    at: Option<(u32, u32)>,
    index: usize,
}

/// Every imported DLL of the image, lazily: see the module docs for the rules.
pub fn modules<'data>(view: &PeView<'data>) -> Modules<'data> {
    Modules {
        view: *view,
        table: Table::Import,
        at: start(view, Table::Import),
        index: 0,
    }
}

fn start(view: &PeView<'_>, table: Table) -> Option<(u32, u32)> {
    let index = match table {
        Table::Import => IMAGE_DIRECTORY_ENTRY_IMPORT,
        Table::Delay => IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT,
    };
    view.data_directory(index)
        .filter(|d| d.virtual_address != 0)
        .map(|d| (d.virtual_address, d.virtual_address))
}

impl<'data> Modules<'data> {
    /// The current table is done: go on with the delay table, or stop.
    fn next_table(&mut self) {
        self.index = 0;
        self.at = match self.table {
            Table::Import => {
                self.table = Table::Delay;
                start(&self.view, Table::Delay)
            }
            Table::Delay => None,
        };
    }

    fn fail(&mut self, e: ImportError) -> Option<Result<Module<'data>, ImportError>> {
        self.next_table();
        Some(Err(e))
    }

    /// A NUL-terminated name at `rva`, borrowed from the file.
    fn name(&self, rva: u32) -> Result<&'data [u8], ImportError> {
        let (table, index) = (self.table, self.index);
        let m = map(&self.view, rva).ok_or_else(|| ImportError::Unmapped {
            table: table.name(),
            what: format!("name of descriptor {index}"),
            rva: u64::from(rva),
        })?;
        let window = m.bytes.get(..MAX_NAME).unwrap_or(m.bytes);
        if let Some(end) = window.iter().position(|&b| b == 0) {
            return Ok(window.get(..end).unwrap_or_default());
        }
        // No NUL in the file bytes: memory past them is zero when the section maps more.
        if window.len() < MAX_NAME && !m.file_short && m.mapped > window.len() as u64 {
            return Ok(window);
        }
        if m.file_short && window.len() < MAX_NAME {
            return Err(ImportError::Truncated {
                table: table.name(),
                what: format!("name of descriptor {index}"),
                rva: u64::from(rva),
                offset: m.offset,
            });
        }
        Err(ImportError::NameTooLong {
            table: table.name(),
            index,
            rva: u64::from(rva),
        })
    }

    /// A delay descriptor's field as an RVA (`base` subtracted).
    fn delay_rva(&self, value: u32, base: u64, what: &str) -> Result<u32, ImportError> {
        u64::from(value)
            .checked_sub(base)
            .and_then(|r| u32::try_from(r).ok())
            .ok_or_else(|| ImportError::BelowImageBase {
                table: Table::Delay.name(),
                what: format!("{what} of descriptor {}", self.index),
                va: u64::from(value),
                image_base: base,
            })
    }
}

impl<'data> Modules<'data> {
    /// The descriptor at `rva`, exactly its size read (one at the very end of the image still
    /// reads), in a 32-byte buffer (an import descriptor's 20 bytes and zeros).
    fn descriptor(&self, rva: u32) -> Result<[u8; 32], ImportError> {
        let index = self.index;
        let what = || format!("descriptor {index}");
        match self.table {
            Table::Import => read::<20>(&self.view, self.table, rva, &what).map(|b| {
                let mut full = [0u8; 32];
                if let Some(d) = full.get_mut(..20) {
                    d.copy_from_slice(&b);
                }
                full
            }),
            Table::Delay => read::<32>(&self.view, self.table, rva, &what),
        }
    }

    /// An import descriptor's name RVA and lookup table RVA (and base 0); `None` for the
    /// descriptor that ends the table (no name or no import address table).
    fn import_fields(&self, bytes: &[u8; 32]) -> Option<(u32, u32, u64)> {
        // OriginalFirstThunk, TimeDateStamp, ForwarderChain, Name, FirstThunk.
        let (original, name, first) = (u32_of(bytes, 0), u32_of(bytes, 12), u32_of(bytes, 16));
        if name == 0 || first == 0 {
            return None;
        }
        let lookup = if (self.view.size_of_headers()..self.view.size_of_image()).contains(&original)
        {
            original
        } else {
            first
        };
        Some((name, lookup, 0))
    }

    /// A delay descriptor's name RVA, name table RVA and the base its fields are relative to;
    /// `None` for the descriptor that ends the table (no name).
    fn delay_fields(&self, bytes: &[u8; 32]) -> Result<Option<(u32, u32, u64)>, ImportError> {
        // Attributes, DllNameRVA, ModuleHandleRVA, ImportAddressTableRVA,
        // ImportNameTableRVA, ...
        let (attributes, name, names) = (u32_of(bytes, 0), u32_of(bytes, 4), u32_of(bytes, 16));
        if name == 0 {
            return Ok(None);
        }
        // Attribute bit 0 clear: the fields are virtual addresses, not RVAs.
        let base = if attributes & 1 == 0 {
            self.view.image_base()
        } else {
            0
        };
        let name = self.delay_rva(name, base, "DllNameRVA")?;
        let names = if names == 0 {
            0
        } else {
            self.delay_rva(names, base, "ImportNameTableRVA")?
        };
        Ok(Some((name, names, base)))
    }
}

impl<'data> Iterator for Modules<'data> {
    type Item = Result<Module<'data>, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (rva, dir) = self.at?;
            let table = self.table;
            if self.index >= MAX_DESCRIPTORS {
                return self.fail(ImportError::TooManyDescriptors {
                    table: table.name(),
                    rva: u64::from(dir),
                });
            }
            let index = self.index;
            let fields = self.descriptor(rva).and_then(|bytes| match table {
                Table::Import => Ok(self.import_fields(&bytes)),
                Table::Delay => self.delay_fields(&bytes),
            });
            let (name_rva, thunks_rva, base) = match fields {
                Ok(Some(fields)) => fields,
                Ok(None) => {
                    self.next_table();
                    continue;
                }
                Err(e) => return self.fail(e),
            };
            let name = match self.name(name_rva) {
                Ok(n) => n,
                Err(e) => return self.fail(e),
            };
            self.index = index.saturating_add(1);
            let size = match table {
                Table::Import => IMPORT_DESCRIPTOR_SIZE,
                Table::Delay => DELAY_DESCRIPTOR_SIZE,
            };
            match rva.checked_add(size) {
                Some(n) => self.at = Some((n, dir)),
                None => self.next_table(),
            }
            return Some(Ok(Module {
                name,
                table,
                index,
                thunks_rva,
                base,
                view: self.view,
            }));
        }
    }
}

/// One imported DLL in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImportedDll {
    /// The DLL name as the table writes it (case kept; bytes that are not UTF-8 replaced).
    pub name: String,
    /// Functions imported by name.
    pub by_name: u32,
    /// Functions imported by ordinal.
    pub by_ordinal: u32,
    /// Whether it is in the delay-import table (loaded on first call, not at start).
    pub delay: bool,
}

/// The image's imports: every descriptor of the import table, then of the delay-import table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Imports {
    /// The DLLs, in table order (a DLL named twice is listed twice).
    pub dlls: Vec<ImportedDll>,
    /// What could not be read; the DLLs before it stand.
    pub errors: Vec<Problem>,
}

impl Imports {
    /// Whether the tables were read to their ends.
    pub fn is_complete(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Reads both tables into an [`Imports`]: the owned summary. The view should hold the whole
/// file (the tables lie anywhere in it); bytes beyond a prefix read as past the end of the file.
pub fn summarize(view: &PeView<'_>) -> Imports {
    let mut out = Imports::default();
    let mut budget = MAX_THUNKS;
    for module in modules(view) {
        let module = match module {
            Ok(m) => m,
            Err(e) => {
                out.errors.push(e.into());
                continue;
            }
        };
        let mut dll = ImportedDll {
            name: String::from_utf8_lossy(module.name).into_owned(),
            by_name: 0,
            by_ordinal: 0,
            delay: module.table == Table::Delay,
        };
        for thunk in module.thunks() {
            if budget == 0 {
                out.errors.push(
                    ImportError::TooManyThunks {
                        table: module.table.name(),
                        dll: dll.name.clone(),
                    }
                    .into(),
                );
                break;
            }
            budget = budget.saturating_sub(1);
            match thunk {
                Ok(Thunk::Ordinal(_)) => dll.by_ordinal = dll.by_ordinal.saturating_add(1),
                Ok(Thunk::Name(_)) => dll.by_name = dll.by_name.saturating_add(1),
                Err(e) => {
                    out.errors.push(e.into());
                    break;
                }
            }
        }
        out.dlls.push(dll);
        if budget == 0 && !out.errors.is_empty() {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests;
