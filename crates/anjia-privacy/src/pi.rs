//! TODO(issue 4): pi.
