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
    /// test-case's `#[test_case(..)]`: a module named like the function
    /// with one test per case ([`crate::test_case`]).
    TestCase,
    /// test-case's `#[test_matrix(..)]`: the same, one test per combination.
    TestMatrix,
    /// It generates tests whose names tollgate does not model: reported.
    #[allow(dead_code)]
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
    // test-case: one module per function with a test per case, named from
    // the case's comment or its arguments' tokens. (A bare `#[case(..)]`
    // beside a `#[test_case]` is one more case; alone it is rstest's.)
    ("test_case", TestAttribute::TestCase),
    ("test_case::test_case", TestAttribute::TestCase),
    ("test_case::case", TestAttribute::TestCase),
    ("test_matrix", TestAttribute::TestMatrix),
    ("test_case::test_matrix", TestAttribute::TestMatrix),
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
    /// `cfg_if! { if #[cfg(..)] { .. } else .. }`: the items of the first
    /// branch whose `cfg` holds (walked like any other items).
    CfgIf,
}

/// Macro paths (as written) → model.
const ITEM_MACROS: &[(&str, ItemMacro)] = &[
    ("proptest", ItemMacro::TestFns),
    ("proptest::proptest", ItemMacro::TestFns),
    ("quickcheck", ItemMacro::EveryFn),
    ("quickcheck::quickcheck", ItemMacro::EveryFn),
    ("cfg_if", ItemMacro::CfgIf),
    ("cfg_if::cfg_if", ItemMacro::CfgIf),
];

pub fn item_macro(path: &str) -> Option<ItemMacro> {
    ITEM_MACROS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, model)| *model)
}
