//! TODO(issue 4): permissions.
