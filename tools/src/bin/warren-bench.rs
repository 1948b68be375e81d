//! Prints Warren's figures. Placeholder filled in below.
fn main() {}
