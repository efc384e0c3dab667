//! `blindrelay-relay`: starts the reference relay (spec §12).

fn main() {}
