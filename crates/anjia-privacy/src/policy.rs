//! TODO(issue 4): policy.
