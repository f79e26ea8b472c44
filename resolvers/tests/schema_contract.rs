//! The server's SDL must equal the committed contract in `schema/mercado.graphql`.
//! After an intended change, rewrite it with:
//!     MERCADO_UPDATE_SCHEMA=1 cargo test -p mercado-resolvers --test schema_contract

use std::path::PathBuf;

fn contract_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/mercado.graphql")
}

#[test]
fn sdl_matches_the_committed_contract() {
    let actual = mercado_resolvers::sdl();
    let path = contract_path();
    if std::env::var_os("MERCADO_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &actual).expect("write schema/mercado.graphql");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, &actual)
            .unified_diff()
            .header("schema/mercado.graphql (committed)", "server SDL")
            .to_string();
        panic!(
            "the server's SDL differs from schema/mercado.graphql:\n{diff}\n\
             If the change is intended: MERCADO_UPDATE_SCHEMA=1 cargo test -p mercado-resolvers --test schema_contract"
        );
    }
}

/// Every type, field and argument we define carries a description (it becomes the SDL doc).
#[test]
fn every_definition_is_described() {
    let sdl = mercado_resolvers::sdl();
    let doc = async_graphql::parser::parse_schema(&sdl).expect("SDL parses");
    let mut missing = Vec::new();
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(ty) = def else {
            continue;
        };
        let ty = &ty.node;
        let name = ty.name.node.as_str();
        if ty.description.is_none() {
            missing.push(name.to_string());
        }
        match &ty.kind {
            TypeKind::Object(o) => {
                for f in &o.fields {
                    if f.node.description.is_none() {
                        missing.push(format!("{name}.{}", f.node.name.node));
                    }
                }
            }
            TypeKind::InputObject(o) => {
                for f in &o.fields {
                    if f.node.description.is_none() {
                        missing.push(format!("{name}.{}", f.node.name.node));
                    }
                }
            }
            TypeKind::Enum(e) => {
                for v in &e.values {
                    if v.node.description.is_none() {
                        missing.push(format!("{name}.{}", v.node.value.node));
                    }
                }
            }
            _ => {}
        }
    }
    assert!(missing.is_empty(), "undescribed definitions: {missing:?}");
}
