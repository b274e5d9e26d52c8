//! Semantic checks: everything serde cannot see on its own because it needs
//! the whole file (cross-references, cycles, expressions, globs).
//!
//! Pure: a [`Config`] in, a list of [`Issue`]s out, each with a key-path
//! [`Location`] that the loader turns into a line and column.

use std::collections::BTreeSet;

use globset::GlobBuilder;
use tollgate_inventory::Language;
use tollgate_markexpr::Expression;

use crate::schema::{
    Config, FrameworkRule, Gate, Job, JobOverride, VarValue, Variable, VariableType,
    FILE_NAME_PLACEHOLDERS, TARGET_KINDS,
};
use crate::spans::{key_path, Location, Seg};
use crate::suggest::closest;

/// Placeholders a job command template may use besides `{VARIABLE}`.
pub const PLACEHOLDERS: &[&str] = &[
    "markexpr",
    "nextest_filter",
    "cargo_features",
    "framework",
    "pipeline",
    "job",
    "stage",
    "shard",
    "shards",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issue {
    pub location: Location,
    pub message: String,
    pub help: Option<String>,
}

pub(crate) fn validate(config: &Config) -> Vec<Issue> {
    let mut v = Validator {
        config,
        issues: Vec::new(),
    };
    v.taxonomy();
    v.rules();
    v.lint();
    v.frameworks_and_components();
    v.changes();
    v.discovery();
    v.variables();
    v.jobs();
    v.pipelines();
    v.budgets();
    v.gates();
    v.run_and_notify();
    v.issues
}

struct Validator<'a> {
    config: &'a Config,
    issues: Vec<Issue>,
}

impl Validator<'_> {
    fn push(&mut self, location: Location, message: String, help: Option<String>) {
        self.issues.push(Issue {
            location,
            message,
            help,
        });
    }

    /// Whether marker names can be checked at all: a config without a
    /// taxonomy (e.g. only pipelines) has nothing to check them against.
    fn has_markers(&self) -> bool {
        self.config
            .taxonomy
            .categories
            .values()
            .any(|c| !c.markers.is_empty())
    }

    /// A marker name used somewhere a marker is expected: known markers and
    /// aliases are fine when `allow_alias`.
    fn check_marker(&mut self, location: Location, name: &str, what: &str, allow_alias: bool) {
        let taxonomy = &self.config.taxonomy;
        if !self.has_markers() || taxonomy.is_marker(name) {
            return;
        }
        if let Some(canonical) = taxonomy.resolve_alias(name) {
            if !allow_alias {
                let message = format!("{what} uses the alias `{name}`");
                let help = Some(format!("write the canonical marker `{canonical}`"));
                self.push(location, message, help);
            }
            return;
        }
        let help = taxonomy
            .suggest(name)
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| Some("add it to a category under [taxonomy.categories]".into()));
        self.push(
            location,
            format!("{what} names unknown marker `{name}`"),
            help,
        );
    }

    fn check_glob(&mut self, location: Location, glob: &str) {
        if let Err(err) = GlobBuilder::new(glob).literal_separator(true).build() {
            let message = format!("invalid glob `{glob}`: {}", err.kind());
            self.push(location, message, None);
        }
    }

    fn check_globs(&mut self, base: Vec<Seg>, globs: &[String]) {
        for (i, glob) in globs.iter().enumerate() {
            let mut p = base.clone();
            p.push(Seg::Index(i));
            self.check_glob(Location::value(p), glob);
        }
    }

    /// Parses a marker expression and checks every marker it names.
    fn check_expr(&mut self, at: Vec<Seg>, expr: &str, what: &str) {
        if expr.trim().is_empty() {
            // pytest reads `-m ''` as "no selection" and `-m ' '` as
            // "nothing": either way not what a job or budget means.
            self.push(
                Location::value(at),
                format!("empty marker expression in {what}"),
                Some("write the markers it selects, e.g. `unit and not slow`".into()),
            );
            return;
        }
        match Expression::parse(expr) {
            Err(err) => {
                let start = char_column_to_byte(expr, err.column);
                let end = expr[start..]
                    .chars()
                    .next()
                    .map_or(start, |c| start + c.len_utf8());
                self.push(
                    Location::in_string(at, start..end),
                    format!("invalid marker expression in {what}: {}", err.message),
                    Some(
                        "the syntax is pytest's -m: `unit and (gpu_0 or gpu_1) and not slow`"
                            .into(),
                    ),
                );
            }
            Ok(parsed) => {
                // SPEC §4: unknown names in an expression are an error when
                // the taxonomy is strict; otherwise they may be plugin
                // markers (`asyncio`, `timeout`) the taxonomy does not list.
                if !self.config.taxonomy.strict {
                    return;
                }
                for (name, range) in parsed.marker_names() {
                    let location = Location::in_string(at.clone(), range);
                    self.check_marker(location, name, what, true);
                }
            }
        }
    }

    // ------------------------------------------------------------ taxonomy

    fn taxonomy(&mut self) {
        let taxonomy = &self.config.taxonomy;
        let mut ordered_seen: Option<&str> = None;
        let mut exclusive_owner: Vec<(&str, &str)> = Vec::new();
        for (cat_name, cat) in taxonomy.categories.iter() {
            let cat_path = key_path!["taxonomy", "categories", cat_name];
            if cat.ordered {
                if let Some(first) = ordered_seen {
                    let mut p = cat_path.clone();
                    p.push(Seg::Key("ordered".into()));
                    self.push(
                        Location::value(p),
                        format!("only one category can be ordered, and `{first}` already is"),
                        Some(
                            "the ordered category is the lifecycle that pipelines inherit along"
                                .into(),
                        ),
                    );
                } else {
                    ordered_seen = Some(cat_name);
                }
            }
            if cat.markers.is_empty() {
                let mut p = cat_path.clone();
                p.push(Seg::Key("markers".into()));
                self.push(
                    Location::value(p),
                    format!("category `{cat_name}` has no markers"),
                    None,
                );
            }
            let mut p = cat_path.clone();
            p.push(Seg::Key("applies_to".into()));
            self.check_globs(p, &cat.applies_to);
            for (marker, def) in cat.markers.iter() {
                let marker_path = key_path!["taxonomy", "categories", cat_name, "markers", marker];
                let mut p = marker_path.clone();
                p.push(Seg::Key("locations".into()));
                self.check_globs(p, &def.locations);
                if !is_marker_name(marker) {
                    self.push(
                        Location::key(marker_path.clone()),
                        format!("`{marker}` cannot be a pytest marker name"),
                        Some(
                            "use letters, digits and underscores, not starting with a digit".into(),
                        ),
                    );
                }
                if !cat.exclusive {
                    continue;
                }
                if let Some((_, other)) = exclusive_owner.iter().find(|(m, _)| *m == marker) {
                    self.push(
                        Location::key(marker_path),
                        format!("marker `{marker}` is in two exclusive categories, `{other}` and `{cat_name}`"),
                        Some("a marker may belong to at most one exclusive category".into()),
                    );
                } else {
                    exclusive_owner.push((marker, cat_name));
                }
            }
        }
        self.aliases();
    }

    fn aliases(&mut self) {
        let taxonomy = &self.config.taxonomy;
        for (alias, target) in taxonomy.aliases.iter() {
            let at = key_path!["taxonomy", "aliases", alias];
            if taxonomy.is_marker(alias) {
                self.push(
                    Location::key(at.clone()),
                    format!("alias `{alias}` is also a marker"),
                    Some("an alias is another spelling of a marker; remove one of the two".into()),
                );
            }
            if !taxonomy.is_marker(target) && !taxonomy.aliases.contains_key(target) {
                let help = taxonomy
                    .suggest(target)
                    .map(|s| format!("did you mean `{s}`?"));
                self.push(
                    Location::value(at.clone()),
                    format!("alias `{alias}` points at unknown marker `{target}`"),
                    help,
                );
            }
            if let Some(cycle) = alias_cycle(self.config, alias) {
                // Report each cycle once, at its first alias in file order.
                let first = cycle
                    .iter()
                    .min_by_key(|a| taxonomy.aliases.position(a).unwrap_or(usize::MAX));
                if first.map(String::as_str) == Some(alias) {
                    let mut shown = cycle.clone();
                    shown.push(alias.to_string());
                    self.push(
                        Location::key(at),
                        format!("alias cycle: {}", shown.join(" → ")),
                        Some("one alias of the chain must point at a marker".into()),
                    );
                }
            }
        }
    }

    // ------------------------------------------------------------ rules

    fn rules(&mut self) {
        for (i, rule) in self.config.rules.iter().enumerate() {
            let at = |key: &str| key_path!["rules", i, key];
            if rule.markers.is_empty() {
                self.push(
                    Location::value(key_path!["rules", i]),
                    "rule adds no markers".into(),
                    Some("give it `markers = [...]`".into()),
                );
            }
            for (j, marker) in rule.markers.iter().enumerate() {
                let mut p = at("markers");
                p.push(Seg::Index(j));
                self.check_marker(Location::value(p), marker, "rule", false);
            }
            for (j, name) in rule.unless.iter().enumerate() {
                let taxonomy = &self.config.taxonomy;
                let known = taxonomy.categories.contains_key(name)
                    || taxonomy.is_marker(name)
                    || taxonomy.resolve_alias(name).is_some();
                if !known && self.has_markers() {
                    let mut p = at("unless");
                    p.push(Seg::Index(j));
                    let candidates = taxonomy
                        .categories
                        .keys()
                        .chain(taxonomy.all_markers().into_iter().map(|(n, _, _)| n));
                    let help = closest(name, candidates).map(|s| format!("did you mean `{s}`?"));
                    self.push(
                        Location::value(p),
                        format!(
                            "`unless` names `{name}`, which is neither a marker nor a category"
                        ),
                        help,
                    );
                }
            }
            self.check_globs(at("paths"), &rule.paths);
            self.check_globs(at("packages"), &rule.packages);
            for (j, kind) in rule.target_kind.iter().enumerate() {
                if !TARGET_KINDS.contains(&kind.as_str()) {
                    let mut p = at("target_kind");
                    p.push(Seg::Index(j));
                    let help = closest(kind, TARGET_KINDS.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"))
                        .or_else(|| Some(format!("one of: {}", TARGET_KINDS.join(", "))));
                    self.push(
                        Location::value(p),
                        format!("unknown target kind `{kind}`"),
                        help,
                    );
                }
            }
            let rust_only = [
                ("target_kind", !rule.target_kind.is_empty()),
                ("features", !rule.features.is_empty()),
                ("attribute", rule.attribute.is_some()),
                ("packages", !rule.packages.is_empty()),
            ];
            if rule.language == Some(Language::Python) {
                for (key, used) in rust_only {
                    if used {
                        self.push(
                            Location::key(at(key)),
                            format!(
                                "`{key}` only applies to Rust tests, but this rule is for Python"
                            ),
                            None,
                        );
                    }
                }
            }
        }
    }

    fn lint(&mut self) {
        let feature = &self.config.lint.integration_feature;
        if !feature.is_empty() && !is_cargo_feature_name(feature) {
            self.push(
                Location::value(key_path!["lint", "integration_feature"]),
                format!("`{feature}` cannot be a Cargo feature name"),
                Some("use letters, digits, `_`, `-` or `+`, or \"\" to turn TG401 off".to_string()),
            );
        }
        let Some(rule) = &self.config.lint.file_name else {
            return;
        };
        for (name, range) in placeholders(&rule.pattern) {
            if !FILE_NAME_PLACEHOLDERS.contains(&name) {
                let help = closest(name, FILE_NAME_PLACEHOLDERS.iter().copied())
                    .map(|s| format!("did you mean `{{{s}}}`?"));
                self.push(
                    Location::in_string(key_path!["lint", "file_name", "pattern"], range),
                    format!("unknown placeholder `{{{name}}}` in a file-name pattern"),
                    help,
                );
            }
        }
        self.check_globs(
            key_path!["lint", "file_name", "applies_to"],
            &rule.applies_to,
        );
    }

    // ------------------------------------------------------------ frameworks, components, changes

    fn frameworks_and_components(&mut self) {
        for (name, fw) in self.config.frameworks.iter() {
            let marker = fw.marker_or(name);
            let at = if fw.marker.is_some() {
                Location::value(key_path!["frameworks", name, "marker"])
            } else {
                Location::key(key_path!["frameworks", name])
            };
            self.check_marker(at, marker, &format!("framework `{name}`"), false);
            self.check_globs(key_path!["frameworks", name, "paths"], &fw.paths);
        }
        for (name, comp) in self.config.components.iter() {
            let marker = comp.marker_or(name);
            let at = if comp.marker.is_some() {
                Location::value(key_path!["components", name, "marker"])
            } else {
                Location::key(key_path!["components", name])
            };
            self.check_marker(at, marker, &format!("component `{name}`"), false);
            self.check_globs(key_path!["components", name, "paths"], &comp.paths);
            self.check_globs(key_path!["components", name, "packages"], &comp.packages);
        }
    }

    fn changes(&mut self) {
        let changes = &self.config.changes;
        if let Some(crate::schema::DefaultFramework::History(h)) = &changes.default_framework {
            if h.prefer.is_empty() {
                self.push(
                    Location::value(key_path!["changes", "default_framework"]),
                    "`prefer` names no framework".to_string(),
                    Some("list the frameworks in order of preference".into()),
                );
            }
            if !(0.0..=1.0).contains(&h.switch_when_flake_rate_above) {
                self.push(
                    Location::value(key_path!["changes", "default_framework"]),
                    format!(
                        "`switch_when_flake_rate_above` is {}; it is a fraction between 0 and 1",
                        h.switch_when_flake_rate_above
                    ),
                    Some("0.05 switches above a 5% flake rate".into()),
                );
            }
        }
        let default_names = changes
            .default_framework
            .as_ref()
            .map(|d| d.names())
            .unwrap_or_default();
        for fw in default_names {
            if !self.config.frameworks.contains_key(fw) {
                let help = closest(fw, self.config.frameworks.keys())
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| Some("declare it under [frameworks]".into()));
                self.push(
                    Location::value(key_path!["changes", "default_framework"]),
                    format!("default framework `{fw}` is not a declared framework"),
                    help,
                );
            }
        }
        for (key, var) in [
            ("framework_variable", &changes.framework_variable),
            (
                "default_framework_variable",
                &changes.default_framework_variable,
            ),
        ] {
            if let Some(var) = var {
                self.check_variable_ref(Location::value(key_path!["changes", key]), var, None);
            }
        }
        self.check_globs(key_path!["changes", "widen"], &changes.widen);
        self.check_globs(key_path!["changes", "docs"], &changes.docs);
        self.check_globs(key_path!["changes", "ignore"], &changes.ignore);
    }

    fn discovery(&mut self) {
        let exclude = &self.config.discovery.exclude;
        self.check_globs(key_path!["discovery", "exclude"], exclude);
    }

    fn check_variable_ref(&mut self, location: Location, name: &str, want: Option<VariableType>) {
        match self.config.variables.get(name) {
            None => {
                let help = closest(name, self.config.variables.keys())
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| Some("declare it under [variables]".into()));
                self.push(location, format!("unknown variable `{name}`"), help);
            }
            Some(var) => {
                if let Some(want) = want {
                    if var.kind != want {
                        let message = format!("variable `{name}` is a {}, not a {want}", var.kind);
                        self.push(location, message, None);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------ variables

    fn variables(&mut self) {
        for (name, var) in self.config.variables.iter() {
            if var.kind == VariableType::Enum && var.values.is_empty() {
                self.push(
                    Location::key(key_path!["variables", name, "type"]),
                    format!("enum variable `{name}` lists no `values`"),
                    None,
                );
            }
            if var.kind != VariableType::Enum && !var.values.is_empty() {
                self.push(
                    Location::key(key_path!["variables", name, "values"]),
                    format!(
                        "`values` only applies to enum variables, and `{name}` is a {}",
                        var.kind
                    ),
                    None,
                );
            }
            if let Some(default) = &var.default {
                if let Some(message) = value_mismatch(name, var, default) {
                    self.push(
                        Location::value(key_path!["variables", name, "default"]),
                        message,
                        None,
                    );
                }
            }
        }
    }

    // ------------------------------------------------------------ jobs

    fn jobs(&mut self) {
        for (name, job) in self.config.jobs.iter() {
            self.job(name, job);
        }
    }

    fn job(&mut self, name: &str, job: &Job) {
        let at = |key: &str| key_path!["jobs", name, key];
        if let Some(expr) = &job.expr {
            self.check_expr(at("expr"), expr, &format!("job `{name}`"));
        }
        if let Some(when) = &job.when {
            self.check_when(at("when"), when);
        }
        if job.shards == 0 {
            self.push(
                Location::value(at("shards")),
                "a job needs at least one shard".into(),
                None,
            );
        }
        self.check_commands(at("commands"), &job.commands);
        self.check_runner(at("runner"), &job.runner.provides);
    }

    fn check_runner(&mut self, base: Vec<Seg>, provides: &[String]) {
        for (i, marker) in provides.iter().enumerate() {
            let mut p = base.clone();
            p.extend([Seg::Key("provides".into()), Seg::Index(i)]);
            self.check_marker(Location::value(p), marker, "runner", false);
        }
    }

    /// A `when` condition: marker-expression grammar over bool variables.
    fn check_when(&mut self, at: Vec<Seg>, when: &str) {
        match Expression::parse(when) {
            Err(err) => {
                let start = char_column_to_byte(when, err.column);
                self.push(
                    Location::in_string(at, start..start),
                    format!("invalid `when` condition: {}", err.message),
                    None,
                );
            }
            Ok(parsed) => {
                for (name, range) in parsed.marker_names() {
                    let location = Location::in_string(at.clone(), range);
                    self.check_variable_ref(location, name, Some(VariableType::Bool));
                }
            }
        }
    }

    fn check_commands(&mut self, base: Vec<Seg>, commands: &[String]) {
        for (i, command) in commands.iter().enumerate() {
            for (name, range) in placeholders(command) {
                let known =
                    PLACEHOLDERS.contains(&name) || self.config.variables.contains_key(name);
                if !known {
                    let mut p = base.clone();
                    p.push(Seg::Index(i));
                    let candidates = PLACEHOLDERS
                        .iter()
                        .copied()
                        .chain(self.config.variables.keys());
                    let help = closest(name, candidates)
                        .map(|s| format!("did you mean `{{{s}}}`?"))
                        .or_else(|| {
                            Some(format!(
                                "placeholders: {{{}}} or a declared variable",
                                PLACEHOLDERS.join("}, {")
                            ))
                        });
                    self.push(
                        Location::in_string(p, range),
                        format!("unknown placeholder `{{{name}}}` in a command"),
                        help,
                    );
                }
            }
            if let Some(offset) = unbalanced_brace(command) {
                let mut p = base.clone();
                p.push(Seg::Index(i));
                self.push(
                    Location::in_string(p, offset..offset + 1),
                    "unbalanced brace in a command template".into(),
                    Some("write `{{` or `}}` for a literal brace".into()),
                );
            }
        }
    }

    // ------------------------------------------------------------ pipelines

    fn pipelines(&mut self) {
        let taxonomy = &self.config.taxonomy;
        for (name, pipeline) in self.config.pipelines.iter() {
            let at = |key: &str| key_path!["pipelines", name, key];
            if taxonomy.stage_index(&pipeline.stage).is_none() {
                let (message, help) = match taxonomy.lifecycle() {
                    None => (
                        format!(
                            "pipeline `{name}` runs stage `{}`, but no category is ordered",
                            pipeline.stage
                        ),
                        Some("mark the lifecycle category `ordered = true`".to_string()),
                    ),
                    Some((cat, c)) => (
                        format!(
                            "`{}` is not a stage of the `{cat}` category",
                            pipeline.stage
                        ),
                        closest(&pipeline.stage, c.markers.keys())
                            .map(|s| format!("did you mean `{s}`?"))
                            .or_else(|| {
                                Some(format!(
                                    "stages: {}",
                                    c.markers.keys().collect::<Vec<_>>().join(", ")
                                ))
                            }),
                    ),
                };
                self.push(Location::value(at("stage")), message, help);
            }
            let mut seen = BTreeSet::new();
            for (i, job) in pipeline.jobs.iter().enumerate() {
                let mut p = at("jobs");
                p.push(Seg::Index(i));
                if !self.config.jobs.contains_key(job) {
                    let help = closest(job, self.config.jobs.keys())
                        .map(|s| format!("did you mean `{s}`?"))
                        .or_else(|| Some("declare it under [jobs]".into()));
                    self.push(
                        Location::value(p),
                        format!("pipeline `{name}` names unknown job `{job}`"),
                        help,
                    );
                } else if !seen.insert(job.as_str()) {
                    self.push(
                        Location::value(p),
                        format!("job `{job}` is listed twice"),
                        None,
                    );
                }
            }
            if let Some(gate) = &pipeline.gate {
                self.check_gate_ref(Location::value(at("gate")), gate);
            }
            if let Some(schedule) = &pipeline.schedule {
                if let Err(problem) = check_cron(schedule) {
                    self.push(
                        Location::value(at("schedule")),
                        format!("pipeline `{name}`: invalid cron schedule `{schedule}`: {problem}"),
                        Some(
                            "five fields: minute hour day-of-month month day-of-week, e.g. `0 2 * * *`"
                                .into(),
                        ),
                    );
                }
            }
            if let Some(FrameworkRule::List(names)) = &pipeline.frameworks {
                for (i, fw) in names.iter().enumerate() {
                    if !self.config.frameworks.contains_key(fw) {
                        let mut p = at("frameworks");
                        p.push(Seg::Index(i));
                        let help = closest(fw, self.config.frameworks.keys())
                            .map(|s| format!("did you mean `{s}`?"))
                            .or_else(|| Some("declare it under [frameworks]".into()));
                        self.push(
                            Location::value(p),
                            format!("pipeline `{name}` names unknown framework `{fw}`"),
                            help,
                        );
                    }
                }
            }
            for (var, value) in pipeline.set.iter() {
                let location = Location::key(key_path!["pipelines", name, "set", var]);
                match self.config.variables.get(var) {
                    None => self.check_variable_ref(location, var, None),
                    Some(decl) => {
                        if let Some(message) = value_mismatch(var, decl, value) {
                            let location =
                                Location::value(key_path!["pipelines", name, "set", var]);
                            self.push(location, message, None);
                        }
                    }
                }
            }
            for (job, over) in pipeline.overrides.iter() {
                if !pipeline.jobs.iter().any(|j| j == job) {
                    self.push(
                        Location::key(key_path!["pipelines", name, "overrides", job]),
                        format!("override for job `{job}`, which pipeline `{name}` does not run"),
                        None,
                    );
                }
                self.job_override(name, job, over);
            }
        }
    }

    fn job_override(&mut self, pipeline: &str, job: &str, over: &JobOverride) {
        let at = |key: &str| key_path!["pipelines", pipeline, "overrides", job, key];
        if let Some(expr) = &over.expr {
            self.check_expr(
                at("expr"),
                expr,
                &format!("job `{job}` in pipeline `{pipeline}`"),
            );
        }
        if let Some(commands) = &over.commands {
            self.check_commands(at("commands"), commands);
        }
        if let Some(runner) = &over.runner {
            self.check_runner(at("runner"), &runner.provides);
        }
        if over.shards == Some(0) {
            self.push(
                Location::value(at("shards")),
                "a job needs at least one shard".into(),
                None,
            );
        }
    }

    fn check_gate_ref(&mut self, location: Location, gate: &str) {
        if !self.config.gates.contains_key(gate) {
            let help = closest(gate, self.config.gates.keys())
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some("declare it under [gates]".into()));
            self.push(location, format!("unknown gate `{gate}`"), help);
        }
    }

    fn check_pipeline_ref(&mut self, location: Location, pipeline: &str) {
        if !self.config.pipelines.contains_key(pipeline) {
            let help = closest(pipeline, self.config.pipelines.keys())
                .map(|s| format!("did you mean `{s}`?"));
            self.push(location, format!("unknown pipeline `{pipeline}`"), help);
        }
    }

    // ------------------------------------------------------------ budgets and gates

    fn budgets(&mut self) {
        for (name, budget) in self.config.budgets.iter() {
            self.check_expr(
                key_path!["budgets", name, "expr"],
                &budget.expr,
                &format!("budget `{name}`"),
            );
            for (i, p) in budget.pipelines.iter().enumerate() {
                self.check_pipeline_ref(
                    Location::value(key_path!["budgets", name, "pipelines", i]),
                    p,
                );
            }
        }
    }

    fn gates(&mut self) {
        for (name, gate) in self.config.gates.iter() {
            self.gate(name, gate);
        }
    }

    fn gate(&mut self, name: &str, gate: &Gate) {
        let at = |key: &str| key_path!["gates", name, key];
        if let Some(parent) = &gate.extends {
            self.check_gate_ref(Location::value(at("extends")), parent);
            if gate_extends_cycle(self.config, name) {
                self.push(
                    Location::value(at("extends")),
                    format!("gate `{name}` extends itself through `extends`"),
                    None,
                );
            }
        }
        for (i, check) in gate.coverage.iter().enumerate() {
            let mut p = at("coverage");
            p.extend([Seg::Index(i), Seg::Key("min_lines".into())]);
            self.check_percent(p, check.min_lines);
            for (j, critical) in check.critical.iter().enumerate() {
                let base = key_path!["gates", name, "coverage", i, "critical", j];
                let mut p = base.clone();
                p.push(Seg::Key("min_lines".into()));
                self.check_percent(p, critical.min_lines);
                let mut p = base;
                p.push(Seg::Key("paths".into()));
                self.check_globs(p, &critical.paths);
            }
        }
        if let Some(drop) = &gate.coverage_drop {
            self.check_percent(
                key_path!["gates", name, "coverage_drop", "max_points"],
                drop.max_points,
            );
        }
        if let Some(patch) = &gate.patch_coverage {
            self.check_percent(
                key_path!["gates", name, "patch_coverage", "min_percent"],
                patch.min_percent,
            );
        }
        if let Some(perf) = &gate.perf_regression {
            if !(perf.max_percent >= 0.0 && perf.max_percent.is_finite()) {
                self.push(
                    Location::value(key_path!["gates", name, "perf_regression", "max_percent"]),
                    "a regression threshold must be a non-negative percentage".into(),
                    None,
                );
            }
            if !(perf.alpha > 0.0 && perf.alpha < 1.0) {
                self.push(
                    Location::value(key_path!["gates", name, "perf_regression", "alpha"]),
                    format!("significance level {} is not between 0 and 1", perf.alpha),
                    Some("0.05 is customary".into()),
                );
            }
        }
        if let Some(flaky) = &gate.flaky_rate {
            self.check_percent(
                key_path!["gates", name, "flaky_rate", "max_percent"],
                flaky.max_percent,
            );
        }
        for (i, limit) in gate.limits.iter().enumerate() {
            if limit.max.is_none() && limit.min.is_none() {
                self.push(
                    Location::value(key_path!["gates", name, "limits", i]),
                    format!("limit on `{}` sets neither `max` nor `min`", limit.metric),
                    None,
                );
            }
            if let Some(expr) = &limit.expr {
                self.check_expr(
                    key_path!["gates", name, "limits", i, "expr"],
                    expr,
                    &format!("gate `{name}`"),
                );
            }
        }
    }

    fn check_percent(&mut self, at: Vec<Seg>, value: f64) {
        if !(0.0..=100.0).contains(&value) {
            self.push(
                Location::value(at),
                format!("{value} is not a percentage (0–100)"),
                None,
            );
        }
    }

    // ------------------------------------------------------------ run, notify

    fn run_and_notify(&mut self) {
        for (i, pattern) in self.config.run.redact.patterns.iter().enumerate() {
            if let Err(err) = regex::Regex::new(pattern) {
                // regex's message ends with a line "error: <what>"; keep that part.
                let text = err.to_string();
                let last = text.lines().last().unwrap_or("").trim();
                let first_line = last.strip_prefix("error: ").unwrap_or(last).to_string();
                self.push(
                    Location::value(key_path!["run", "redact", "patterns", i]),
                    format!("invalid redaction pattern: {first_line}"),
                    None,
                );
            }
        }
        for (i, hook) in self.config.notify.webhook.iter().enumerate() {
            if hook.url.is_none() && hook.url_env.is_none() {
                self.push(
                    Location::value(key_path!["notify", "webhook", i]),
                    "a webhook needs `url` or `url_env`".into(),
                    Some("prefer `url_env` so the secret stays out of the repository".into()),
                );
            }
        }
        let triage = &self.config.triage;
        let patterns = triage
            .log_pattern
            .iter()
            .map(|p| (key_path!["triage", "log_pattern"], p))
            .chain(
                triage
                    .infra_patterns
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (key_path!["triage", "infra_patterns", i], p)),
            )
            .chain(
                triage
                    .build_patterns
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (key_path!["triage", "build_patterns", i], p)),
            )
            .collect::<Vec<_>>();
        for (path, pattern) in patterns {
            if let Err(err) = regex::Regex::new(pattern) {
                let text = err.to_string();
                let last = text.lines().last().unwrap_or("").trim();
                let what = last.strip_prefix("error: ").unwrap_or(last).to_string();
                self.push(
                    Location::value(path),
                    format!("invalid regular expression: {what}"),
                    None,
                );
            }
        }
        if self.config.notify.confirm_runs == Some(0) {
            self.push(
                Location::value(key_path!["notify", "confirm_runs"]),
                "`confirm_runs` must be at least 1".into(),
                Some("1 alerts on the first failing run".into()),
            );
        }
    }
}

/// Whether `name` is usable as `@pytest.mark.NAME`.
fn is_marker_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// Whether `name` is usable as a Cargo feature: Cargo accepts a leading
/// letter, digit or `_`, then letters, digits, `_`, `-`, `+` and `.`.
fn is_cargo_feature_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_alphanumeric())
        && chars.all(|c| matches!(c, '_' | '-' | '+' | '.') || c.is_alphanumeric())
}

/// The aliases on a cycle through `start`, in chain order, if there is one.
fn alias_cycle(config: &Config, start: &str) -> Option<Vec<String>> {
    let aliases = &config.taxonomy.aliases;
    let mut chain = vec![start.to_string()];
    let mut current = aliases.get(start)?;
    while let Some(next) = aliases.get(current) {
        if current == start {
            return Some(chain);
        }
        if chain.iter().any(|c| c == current) || chain.len() > aliases.len() {
            // A cycle that does not pass through `start`: reported from its own aliases.
            return None;
        }
        chain.push(current.clone());
        current = next;
    }
    None
}

fn gate_extends_cycle(config: &Config, start: &str) -> bool {
    let mut current = start;
    for _ in 0..=config.gates.len() {
        match config.gates.get(current).and_then(|g| g.extends.as_deref()) {
            Some(parent) if parent == start => return true,
            Some(parent) => current = parent,
            None => return false,
        }
    }
    false
}

/// Why `value` does not fit variable `name`, if it does not.
pub(crate) fn value_mismatch(name: &str, var: &Variable, value: &VarValue) -> Option<String> {
    let ok = match (var.kind, value) {
        (VariableType::Bool, VarValue::Bool(_)) => true,
        (VariableType::String, VarValue::Str(_)) => true,
        (VariableType::Int, VarValue::Int(_)) => true,
        (VariableType::Float, VarValue::Float(_) | VarValue::Int(_)) => true,
        (VariableType::Enum, VarValue::Str(s)) => {
            if var.values.iter().any(|v| v == s) {
                true
            } else {
                return Some(format!(
                    "`{s}` is not one of the values of `{name}`: {}",
                    var.values.join(", ")
                ));
            }
        }
        _ => false,
    };
    (!ok).then(|| format!("`{value}` is not a {} (the type of `{name}`)", var.kind))
}

/// Byte offset of a 1-based character column (pytest counts code points).
fn char_column_to_byte(text: &str, column: usize) -> usize {
    text.char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i)
}

/// `{name}` placeholders with the byte range of `name`; `{{`/`}}` are escapes.
pub(crate) fn placeholders(template: &str) -> Vec<(&str, std::ops::Range<usize>)> {
    let bytes = template.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => i += 2,
            b'{' => match template[i + 1..].find('}') {
                Some(len) => {
                    let range = i + 1..i + 1 + len;
                    out.push((&template[range.clone()], range));
                    i += len + 2;
                }
                None => break,
            },
            _ => i += 1,
        }
    }
    out
}

/// Offset of a `{` without a closing `}` or a lone `}`.
fn unbalanced_brace(template: &str) -> Option<usize> {
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'{', Some(b'{')) | (b'}', Some(b'}')) => i += 2,
            (b'{', _) => match template[i..].find('}') {
                Some(len) => i += len + 1,
                None => return Some(i),
            },
            (b'}', _) => return Some(i),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(src: &str) -> Vec<String> {
        let config: Config = toml::from_str(src).unwrap();
        validate(&config).into_iter().map(|i| i.message).collect()
    }

    #[test]
    fn unknown_markers_in_expressions_are_errors_only_when_strict() {
        let body = "[taxonomy.categories.type]\nmarkers = { unit = \"u\" }\n[jobs.j]\nexpr = \"unit and asyncio\"\n";
        assert_eq!(issues(body), Vec::<String>::new());
        let strict = format!("[taxonomy]\nstrict = true\n{body}");
        assert_eq!(issues(&strict), ["job `j` names unknown marker `asyncio`"]);
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let src = r#"
[taxonomy.categories.type]
markers = { unit = "u" }
[taxonomy.aliases]
a = "b"
b = "a"
[jobs.j]
shards = 0
[pipelines.p]
stage = "x"
on = "push"
jobs = ["j", "k", "j"]
"#;
        assert_eq!(
            issues(src),
            [
                "alias cycle: a → b → a",
                "a job needs at least one shard",
                "pipeline `p` runs stage `x`, but no category is ordered",
                "pipeline `p` names unknown job `k`",
                "job `j` is listed twice",
            ]
        );
    }

    #[test]
    fn the_integration_feature_must_be_a_cargo_feature_name() {
        assert!(issues("[lint]\nintegration_feature = \"it-tests\"\n").is_empty());
        assert!(issues("[lint]\nintegration_feature = \"\"\n").is_empty());
        assert_eq!(
            issues("[lint]\nintegration_feature = \"needs space\"\n"),
            ["`needs space` cannot be a Cargo feature name"]
        );
        let config: Config = toml::from_str("").unwrap();
        assert_eq!(
            config.lint.integration_feature, "",
            "TG401 is the dynamo preset's"
        );
    }

    #[test]
    fn gate_extends_cycles_are_caught() {
        let src =
            "[gates.a]\nextends = \"b\"\n[gates.b]\nextends = \"a\"\n[gates.c]\nextends = \"a\"\n";
        assert_eq!(
            issues(src),
            [
                "gate `a` extends itself through `extends`",
                "gate `b` extends itself through `extends`",
            ]
        );
    }

    #[test]
    fn placeholders_skip_escapes() {
        let found: Vec<&str> = placeholders("pytest -m '{markexpr}' {{literal}} {shard}/{shards}")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(found, ["markexpr", "shard", "shards"]);
        assert_eq!(unbalanced_brace("a {b} {{c}}"), None);
        assert_eq!(unbalanced_brace("a {b"), Some(2));
        assert_eq!(unbalanced_brace("a }"), Some(2));
    }

    #[test]
    fn marker_names_follow_python_identifiers() {
        assert!(is_marker_name("gpu_0"));
        assert!(is_marker_name("_private"));
        assert!(!is_marker_name("0gpu"));
        assert!(!is_marker_name("gpu-0"));
        assert!(!is_marker_name(""));
    }

    #[test]
    fn column_to_byte_counts_characters() {
        assert_eq!(char_column_to_byte("ab", 1), 0);
        assert_eq!(char_column_to_byte("éb", 2), 2);
        assert_eq!(char_column_to_byte("ab", 9), 2);
    }
}

/// Checks a cron schedule as GitHub Actions and GitLab read it: five fields
/// (minute, hour, day of month, month, day of week), each `*` or a list of
/// values and ranges with an optional `/step`; months and days may be
/// named (`JAN`, `MON`).
pub(crate) fn check_cron(schedule: &str) -> Result<(), String> {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("{} field(s), expected 5", fields.len()));
    }
    let specs: [(&str, u32, u32, &[&str], u32); 5] = [
        ("minute", 0, 59, &[], 0),
        ("hour", 0, 23, &[], 0),
        ("day of month", 1, 31, &[], 0),
        ("month", 1, 12, &MONTHS, 1),
        ("day of week", 0, 7, &DAYS, 0),
    ];
    for (field, (what, min, max, names, first)) in fields.iter().zip(specs) {
        let value = |text: &str| -> Result<u32, String> {
            if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
                return Ok(i as u32 + first);
            }
            let n: u32 = text
                .parse()
                .map_err(|_| format!("`{text}` is not a {what}"))?;
            if n < min || n > max {
                return Err(format!("{what} {n} is outside {min}-{max}"));
            }
            Ok(n)
        };
        for part in field.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (part, None),
            };
            if let Some(step) = step {
                match step.parse::<u32>() {
                    Ok(n) if n > 0 => {}
                    _ => return Err(format!("`{step}` is not a step in the {what} field")),
                }
            }
            if range == "*" {
                continue;
            }
            match range.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (value(a)?, value(b)?);
                    if a > b {
                        return Err(format!("{what} range {a}-{b} is backwards"));
                    }
                }
                None => {
                    value(range)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod cron_tests {
    use super::check_cron;

    #[test]
    fn cron_schedules_are_checked() {
        for good in [
            "0 2 * * *",
            "0 4 * * 6",
            "*/15 0-6,22 1 JAN-MAR mon-fri",
            "5 4 * * 7",
        ] {
            assert_eq!(check_cron(good), Ok(()), "{good}");
        }
        for bad in [
            "not a cron",
            "",
            "0 2 * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "*/0 * * * *",
            "5-1 * * * *",
            "0 2 * * * *",
        ] {
            assert!(check_cron(bad).is_err(), "{bad}");
        }
    }
}
