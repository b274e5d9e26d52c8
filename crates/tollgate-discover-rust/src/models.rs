//! Models of test-generating macros from other crates, in one table each:
//! adding one is a line here and a fixture.
//!
//! Attribute macros that turn one function into one test named like the
//! function (`#[test_log::test]`, `#[tokio::test]`, any `#[<path>::test]`)
//! need no entry: an attribute whose last path segment is `test` is a test
//! attribute.

/// What an attribute on a function means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestAttribute {
    /// The function is one test with its own name.
    Test,
    /// It generates tests whose names tollgate does not model: reported.
    Unsupported,
}

/// Attribute paths (as written) → meaning.
const TEST_ATTRIBUTES: &[(&str, TestAttribute)] = &[
    // quickcheck_macros: `#[quickcheck] fn prop(x: u8) -> bool`.
    ("quickcheck", TestAttribute::Test),
    ("quickcheck_macros::quickcheck", TestAttribute::Test),
    // test-strategy: `#[proptest] fn prop(#[strategy(..)] x: u8)`.
    ("proptest", TestAttribute::Test),
    ("test_strategy::proptest", TestAttribute::Test),
    // test-case: one module per function with a test per case; the case
    // names come from the arguments' tokens (not modelled yet).
    ("test_case", TestAttribute::Unsupported),
    ("test_case::test_case", TestAttribute::Unsupported),
    ("test_matrix", TestAttribute::Unsupported),
    ("test_case::test_matrix", TestAttribute::Unsupported),
];

pub fn test_attribute(path: &str) -> Option<TestAttribute> {
    TEST_ATTRIBUTES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, meaning)| *meaning)
}

/// What an item-level call of an external macro produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemMacro {
    /// `proptest! { #[test] fn name(x in ..) {..} .. }`: the functions
    /// written with a test attribute, each a test of its name.
    TestFns,
    /// `quickcheck! { fn name(x: u8) -> bool {..} .. }`: every function is
    /// a test of its name (with the attributes written on it).
    EveryFn,
}

/// Macro paths (as written) → model.
const ITEM_MACROS: &[(&str, ItemMacro)] = &[
    ("proptest", ItemMacro::TestFns),
    ("proptest::proptest", ItemMacro::TestFns),
    ("quickcheck", ItemMacro::EveryFn),
    ("quickcheck::quickcheck", ItemMacro::EveryFn),
];

pub fn item_macro(path: &str) -> Option<ItemMacro> {
    ITEM_MACROS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, model)| *model)
}
