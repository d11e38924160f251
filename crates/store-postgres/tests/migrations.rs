//! PostgreSQL's migrations are SQLite's, name for name: one schema version
//! means the same on either store (what `db copy` relies on).

use std::path::Path;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|f| f.map(|f| f.file_name().to_string_lossy().into_owned()).unwrap_or_default())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    v.sort();
    v
}

#[test]
fn the_migrations_carry_sqlites_names_one_for_one() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pg = names(&here.join("migrations"));
    let sqlite = names(&here.join("../store-sqlite/migrations"));
    assert!(!sqlite.is_empty(), "no SQLite migrations found");
    assert_eq!(pg, sqlite);
    let embedded: Vec<i64> = taskforce_store_postgres::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(embedded.len(), sqlite.len(), "every file is embedded");
}
