//! TODO(issue 4): third_party.
