//! TODO(issue 4): roles.
