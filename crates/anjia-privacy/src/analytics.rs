//! TODO(issue 4): analytics.
