//! Envelope tests (spec §8).
