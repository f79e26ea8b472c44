//! What a document costs, measured before anything else touches it, in time linear in its
//! size: a lexical pass (tokens, bracket nesting) before parsing, and a pass over the parsed
//! document that counts what it *expands* to, each fragment measured once and its cost reused
//! at every spread. async-graphql's own depth, complexity and directive checks inline every
//! fragment spread, so a few kilobytes of fragments spreading each other twice cost 2^n steps
//! there; they only ever see documents this module has admitted.

use std::collections::HashMap;

use async_graphql::{
    Name, Positioned,
    parser::types::{Directive, ExecutableDocument, Selection, SelectionSet},
};

use super::{EdgeLimits, Refusal};

/// Counts lexical tokens (commas, whitespace and comments are not tokens) and the deepest
/// nesting of `{`, `[` and `(`, refusing as soon as either limit is passed.
pub fn check_lexical(text: &str, limits: &EdgeLimits) -> Result<(), Refusal> {
    let bytes = text.as_bytes();
    let (mut i, mut tokens, mut nesting) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'{' | b'[' | b'(' => {
                nesting += 1;
                if nesting > limits.max_nesting {
                    return Err(Refusal::too_complex(
                        "maxNesting",
                        limits.max_nesting,
                        nesting,
                    ));
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                nesting = nesting.saturating_sub(1);
                i += 1;
            }
            b'.' => {
                while i < bytes.len() && bytes[i] == b'.' {
                    i += 1;
                }
            }
            b if b == b'_' || b.is_ascii_alphabetic() => {
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            // Numbers, loosely (`-1.5e+3`): the parser judges them, this only counts them.
            b if b == b'-' || b.is_ascii_digit() => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        tokens += 1;
        if tokens > limits.max_tokens {
            return Err(Refusal::too_complex("maxTokens", limits.max_tokens, tokens));
        }
    }
    Ok(())
}

/// What a selection set expands to.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Cost {
    /// Fields, fragment spreads and inline fragments, fragments inlined (each costs 1).
    pub complexity: u64,
    /// Aliased fields, fragments inlined.
    pub aliases: u64,
    /// Deepest field nesting on paths that do not enter `__schema` or `__type`.
    pub depth: usize,
    /// Deepest field nesting on any path, introspection included.
    pub any_depth: usize,
    /// Whether the document asks for `__schema` or `__type`.
    pub introspection: bool,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.complexity = self.complexity.saturating_add(other.complexity);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.depth = self.depth.max(other.depth);
        self.any_depth = self.any_depth.max(other.any_depth);
        self.introspection |= other.introspection;
    }
}

enum Memo {
    Measuring,
    Done(Cost),
}

/// Measures every operation of `doc` (validation looks at all of them, not only the one that
/// will run) and refuses it if any limit is passed.
pub fn check_document(doc: &ExecutableDocument, limits: &EdgeLimits) -> Result<Cost, Refusal> {
    let mut meter = Meter {
        doc,
        limits,
        fragments: HashMap::new(),
    };
    let mut total = Cost::default();
    for (_, operation) in doc.operations.iter() {
        meter.directives(&operation.node.directives, "the operation")?;
        total.add(meter.selection_set(&operation.node.selection_set)?);
    }
    let checks = [
        ("maxComplexity", limits.max_complexity, total.complexity),
        ("maxAliases", limits.max_aliases, total.aliases),
        ("maxDepth", limits.max_depth, total.depth as u64),
        (
            "maxIntrospectionDepth",
            limits.max_introspection_depth,
            total.any_depth as u64,
        ),
    ];
    if total.introspection && !limits.introspection {
        return Err(Refusal::IntrospectionDisabled);
    }
    for (limit, max, actual) in checks {
        if actual > max as u64 {
            return Err(Refusal::too_complex(
                limit,
                max,
                usize::try_from(actual).unwrap_or(usize::MAX),
            ));
        }
    }
    Ok(total)
}

struct Meter<'a> {
    doc: &'a ExecutableDocument,
    limits: &'a EdgeLimits,
    fragments: HashMap<&'a Name, Memo>,
}

impl<'a> Meter<'a> {
    fn selection_set(&mut self, set: &'a Positioned<SelectionSet>) -> Result<Cost, Refusal> {
        let mut cost = Cost::default();
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    self.directives(&field.directives, field.name.node.as_str())?;
                    let inner = self.selection_set(&field.selection_set)?;
                    let introspection = matches!(field.name.node.as_str(), "__schema" | "__type");
                    cost.add(Cost {
                        complexity: inner.complexity.saturating_add(1),
                        aliases: inner.aliases + u64::from(field.alias.is_some()),
                        depth: if introspection { 0 } else { inner.depth + 1 },
                        any_depth: inner.any_depth + 1,
                        introspection: introspection || inner.introspection,
                    });
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    self.directives(&spread.node.directives, name.as_str())?;
                    let mut inner = self.fragment(name)?;
                    inner.complexity = inner.complexity.saturating_add(1);
                    cost.add(inner);
                }
                Selection::InlineFragment(inline) => {
                    self.directives(&inline.node.directives, "an inline fragment")?;
                    let mut inner = self.selection_set(&inline.node.selection_set)?;
                    inner.complexity = inner.complexity.saturating_add(1);
                    cost.add(inner);
                }
            }
        }
        Ok(cost)
    }

    /// A fragment's cost, measured at its first spread and reused after. An unknown fragment
    /// costs nothing here (validation reports it); a cycle is refused here, since async-graphql
    /// would follow it before validation does.
    fn fragment(&mut self, name: &'a Name) -> Result<Cost, Refusal> {
        match self.fragments.get(name) {
            Some(Memo::Done(cost)) => return Ok(*cost),
            Some(Memo::Measuring) => return Err(Refusal::FragmentCycle(name.to_string())),
            None => {}
        }
        let Some(fragment) = self.doc.fragments.get(name) else {
            return Ok(Cost::default());
        };
        self.fragments.insert(name, Memo::Measuring);
        self.directives(&fragment.node.directives, name.as_str())?;
        let cost = self.selection_set(&fragment.node.selection_set)?;
        self.fragments.insert(name, Memo::Done(cost));
        Ok(cost)
    }

    fn directives(&self, list: &[Positioned<Directive>], on: &str) -> Result<(), Refusal> {
        if list.len() > self.limits.max_directives {
            return Err(Refusal::TooComplex {
                limit: "maxDirectives",
                max: self.limits.max_directives,
                actual: list.len(),
                on: Some(on.to_string()),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use async_graphql::parser::parse_query;

    use super::*;
    use crate::fakes::documents::exponential_fragments;

    fn limits() -> EdgeLimits {
        EdgeLimits::default()
    }

    fn refusal(query: &str) -> Option<(&'static str, usize)> {
        let limits = limits();
        let result = check_lexical(query, &limits)
            .and_then(|()| check_document(&parse_query(query).unwrap(), &limits).map(|_| ()));
        match result {
            Ok(()) => None,
            Err(Refusal::TooComplex { limit, actual, .. }) => Some((limit, actual)),
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }

    #[test]
    fn fragments_are_measured_as_they_expand_and_in_linear_time() {
        let started = std::time::Instant::now();
        let (limit, actual) = refusal(&exponential_fragments(30)).unwrap();
        assert_eq!(limit, "maxComplexity");
        assert!(actual > 2_000, "{actual}");
        // Linear: thirty fragments are measured once each, not 2^30 times.
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(refusal(&exponential_fragments(5)), None);
    }

    #[test]
    fn counts_follow_the_expansion() {
        let doc = parse_query(
            "query { a: __typename ...F ...F } fragment F on Query { b: __typename c { d } }",
        )
        .unwrap();
        let cost = check_document(&doc, &limits()).unwrap();
        // 1 aliased field, plus twice (spread + aliased field + c + d).
        assert_eq!(cost.complexity, 1 + 2 * 4);
        assert_eq!(cost.aliases, 3);
        assert_eq!(cost.depth, 2);
    }

    #[test]
    fn each_limit_is_named_when_passed() {
        let aliases: String = (0..10_000).map(|i| format!("a{i}: __typename ")).collect();
        assert_eq!(refusal(&format!("{{ {aliases} }}")).unwrap().0, "maxTokens");
        let aliases: String = (0..100).map(|i| format!("a{i}: __typename ")).collect();
        assert_eq!(
            refusal(&format!("{{ {aliases} }}")),
            Some(("maxAliases", 100))
        );
        let skips = "@skip(if: false) ".repeat(50);
        assert_eq!(
            refusal(&format!("{{ __typename {skips} }}")),
            Some(("maxDirectives", 50))
        );
        let deep = format!("{}{}", "{ a ".repeat(14), "}".repeat(14));
        assert_eq!(refusal(&deep), Some(("maxDepth", 14)));
        let nested = format!("{}{}", "{ a ".repeat(100), "}".repeat(100));
        assert_eq!(refusal(&nested).unwrap().0, "maxNesting");
    }

    #[test]
    fn introspection_has_its_own_depth() {
        let type_ref = format!("{}{}", "ofType { kind name ".repeat(9), "}".repeat(9));
        let query = format!("{{ __schema {{ types {{ fields {{ type {{ {type_ref} }} }} }} }} }}");
        assert_eq!(refusal(&query), None);
        // The same depth outside introspection is refused.
        let plain = format!("{{ a {{ types {{ fields {{ type {{ {type_ref} }} }} }} }} }}");
        assert_eq!(refusal(&plain).unwrap().0, "maxDepth");
    }

    #[test]
    fn a_fragment_cycle_is_refused_before_anything_follows_it() {
        let doc = parse_query(
            "query { ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A }",
        )
        .unwrap();
        assert!(matches!(
            check_document(&doc, &limits()),
            Err(Refusal::FragmentCycle(_))
        ));
    }

    #[test]
    fn strings_comments_and_commas_are_not_tokens() {
        let limits = EdgeLimits {
            max_tokens: 8,
            ..EdgeLimits::default()
        };
        // { a(x: "{ { { b c", y: """ "" """) } # { { {
        let text = "{ a(x: \"{ { { b c\", y: \"\"\" \\\"\"\" \"\"\") } # { { {";
        assert!(check_lexical(text, &limits).is_err());
        let text = "{ a(x: \"{ { { b c\",,,) } # { { {";
        check_lexical(text, &limits).unwrap();
        check_lexical("{ a(x: -1.5e+3) }", &limits).unwrap();
    }
}
