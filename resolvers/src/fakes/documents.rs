//! Hostile GraphQL documents, for the tests that prove the edge refuses them.

/// Fragments each spreading the next one twice, `levels` deep: about 2 KB of text for 30
/// levels, which expands to 2^levels fields once inlined.
pub fn exponential_fragments(levels: usize) -> String {
    let mut doc = String::from("query Boom { ...F0 }\n");
    for i in 0..levels {
        doc.push_str(&format!(
            "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    doc.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
    doc
}
