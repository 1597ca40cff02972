//! Authenticode for PE files: certificate table, signatures, image digest and trust.
