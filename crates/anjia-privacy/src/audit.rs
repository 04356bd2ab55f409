//! TODO(issue 4): audit.
