//! TODO(issue 4): crypto.
