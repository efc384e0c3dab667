//! Every fixed limit of protocol v1 (spec §10, "Limits"). Each value is listed in the spec
//! with the same number; the `spec_consistency` test checks that.
