//! TODO(issue 4): consent.
