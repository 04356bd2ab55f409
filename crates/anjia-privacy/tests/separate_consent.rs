//! PRV-07 as a compile-time fact: general acceptance of the policy can never stand in for separate
//! consent (单独同意, PIPL 2021 Art. 29). Each file in `tests/ui/` must fail to compile; the
//! expected compiler output is next to it (`*.stderr`, regenerate with `TRYBUILD=overwrite`).

#[test]
fn general_acceptance_cannot_become_separate_consent() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
