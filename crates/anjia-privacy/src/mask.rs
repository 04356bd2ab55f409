//! TODO(issue 4): mask.
