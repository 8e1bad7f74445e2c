//! The DSL's compile-time contract: every accepted form compiles, every rejected form fails
//! with exactly the message and span in its `.stderr` (regenerate with
//! `TRYBUILD=overwrite cargo test --test trybuild`, then review the diff).

#[test]
fn dsl_accepts_and_rejects_at_compile_time() {
    let cases = trybuild::TestCases::new();
    cases.pass("trybuild/pass/*.rs");
    cases.compile_fail("trybuild/fail/*.rs");
}
