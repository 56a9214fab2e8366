//! Cross-crate tests live in `tests/`; `src/bin/` holds helper processes
//! they start (for example a writer the crash test kills with SIGKILL).
