//! TODO(issue 4): inventory.
