// `embed_migrations!` reads the migration folders at compile time; without this, adding or
// editing a migration would not rebuild the crate and the binary would carry stale SQL.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
