//! Roster benchmark (written below).
fn main() {}
