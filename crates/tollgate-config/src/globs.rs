//! Every path glob a config declares, with where: `tollgate config check`
//! reports the ones that match no file of the project (a renamed directory
//! silently turns change detection or a location rule off).

use crate::schema::Config;

/// A glob and the key that declares it (`frameworks.vllm.paths`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredGlob {
    pub at: String,
    pub glob: String,
}

impl Config {
    /// Every path glob in the file, in file order of the sections.
    pub fn path_globs(&self) -> Vec<DeclaredGlob> {
        let mut out = Vec::new();
        let mut push = |at: String, globs: &[String]| {
            for g in globs {
                out.push(DeclaredGlob {
                    at: at.clone(),
                    glob: g.clone(),
                });
            }
        };
        for (cat_name, cat) in self.taxonomy.categories.iter() {
            push(
                format!("taxonomy.categories.{cat_name}.applies_to"),
                &cat.applies_to,
            );
            for (name, def) in cat.markers.iter() {
                push(
                    format!("taxonomy.categories.{cat_name}.markers.{name}.locations"),
                    &def.locations,
                );
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            push(format!("rules[{i}].paths"), &rule.paths);
        }
        if let Some(rule) = &self.lint.file_name {
            push("lint.file_name.applies_to".to_string(), &rule.applies_to);
        }
        for (name, fw) in self.frameworks.iter() {
            push(format!("frameworks.{name}.paths"), &fw.paths);
        }
        for (name, c) in self.components.iter() {
            push(format!("components.{name}.paths"), &c.paths);
        }
        push("changes.widen".to_string(), &self.changes.widen);
        push("changes.docs".to_string(), &self.changes.docs);
        push("changes.ignore".to_string(), &self.changes.ignore);
        for (name, gate) in self.gates.iter() {
            for (i, cov) in gate.coverage.iter().enumerate() {
                for crit in &cov.critical {
                    push(
                        format!("gates.{name}.coverage[{i}].critical.{}", crit.name),
                        &crit.paths,
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_globs_with_where_they_are() {
        let config = Config::from_str(
            "[frameworks.vllm]\npaths = [\"a/**\", \"b/**\"]\n[changes]\ndocs = [\"docs/**\"]\n",
            "tollgate.toml",
        )
        .unwrap();
        let globs: Vec<(String, String)> = config
            .path_globs()
            .into_iter()
            .map(|g| (g.at, g.glob))
            .collect();
        assert_eq!(
            globs,
            [
                ("frameworks.vllm.paths".to_string(), "a/**".to_string()),
                ("frameworks.vllm.paths".to_string(), "b/**".to_string()),
                ("changes.docs".to_string(), "docs/**".to_string()),
            ]
        );
    }
}
