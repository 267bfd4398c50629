//! `connections:`, the `format: postgres` sources that read through them and `output.postgres`
//! (E028): each connection named, each source naming exactly one table or query, names that
//! can be quoted.

use super::{did_you_mean, is_valid_name, Validator};
use crate::postgres::is_identifier;
use crate::project::model::SourceDef;
use std::collections::BTreeMap;

impl Validator<'_> {
    /// The connections, and `output.postgres`.
    pub(super) fn check_connections(&mut self) {
        let p = self.project;
        for (name, def) in &p.config.connections {
            if !is_valid_name(name) {
                self.err("E011", p.config_loc(&format!("connections.{name}")), format!("invalid connection name '{name}'"),
                    Some("use lowercase letters, digits and underscores, starting with a letter".into()));
            }
            if !is_identifier(&def.dsn_env) {
                self.err("E028", p.config_loc(&format!("connections.{name}.dsn_env")),
                    format!("`dsn_env` of connection '{name}' must name an environment variable, not '{}'", def.dsn_env),
                    Some("e.g. dsn_env: SEGMENTER_PG_DSN; the DSN itself (with its password) stays out of the project".into()));
            }
        }
        if let Some(out) = &p.config.output.postgres {
            self.known_connection(&out.connection, "output.postgres.connection", "output.postgres", &p.config.connections);
            if !is_valid_name(&out.schema) {
                self.err("E028", p.config_loc("output.postgres.schema"), format!("invalid PostgreSQL schema name '{}'", out.schema),
                    Some("use lowercase letters, digits and underscores, starting with a letter".into()));
            }
        }
    }

    /// A `format: postgres` source: a known connection and exactly one of `table:` or `query:`.
    pub(super) fn check_postgres_source(&mut self, name: &str, def: &SourceDef) {
        let p = self.project;
        let at = |field: &str| p.config_loc(&format!("sources.{name}.{field}"));
        match &def.connection {
            None => self.err("E028", at("format"), format!("source '{name}' (format: postgres) needs `connection:`"),
                Some("name a connection declared under `connections:`, e.g. connection: warehouse".into())),
            Some(c) => self.known_connection(c, &format!("sources.{name}.connection"), &format!("source '{name}'"), &p.config.connections),
        }
        match (&def.table, &def.query) {
            (None, None) => self.err("E028", at("format"), format!("source '{name}' (format: postgres) needs either `table:` or `query:`"),
                Some("e.g. table: public.orders".into())),
            (Some(_), Some(_)) => self.err("E028", at("query"), format!("source '{name}' (format: postgres) has both `table:` and `query:`; it reads one"),
                Some("keep `table:`, or fold the table into the query".into())),
            (Some(table), None) if !is_table_name(table) => self.err("E028", at("table"), format!("invalid table name '{table}' in source '{name}'"),
                Some("write schema.table or table, each letters, digits and underscores".into())),
            _ => {}
        }
        if !def.path.is_empty() {
            self.err("E028", at("path"), format!("source '{name}' (format: postgres) has a `path:`; it reads `table:` or `query:`"),
                Some("remove `path:`".into()));
        }
    }

    fn known_connection(&mut self, name: &str, key: &str, user: &str, known: &BTreeMap<String, crate::project::model::ConnectionDef>) {
        if !known.contains_key(name) {
            let hint = did_you_mean(name, known.keys().map(String::as_str))
                .unwrap_or_else(|| format!("declare it: connections: {{ {name}: {{ dsn_env: SEGMENTER_PG_DSN }} }}"));
            self.err("E028", self.project.config_loc(key), format!("unknown connection '{name}' in {user}"), Some(hint));
        }
    }
}

fn is_table_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() <= 2 && parts.iter().all(|p| is_identifier(p))
}
