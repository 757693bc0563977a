//! The default schema of a session: the user-facing views (`queries/views/*.sql`), each
//! planned the first time a statement names it, so a statement pays only for the views it
//! uses; tables and views a user creates live beside them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::datatypes::Schema;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider, TableProvider};
use datafusion::common::config::ConfigOptions;
use datafusion::datasource::ViewTable;
use datafusion::datasource::empty::EmptyTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::TableType;
use datafusion::optimizer::Analyzer;
use datafusion::optimizer::analyzer::type_coercion::TypeCoercion;

use super::VIEWS;

/// A way back to the session's current state, to plan a view with.
type StateFn = Box<dyn Fn() -> Option<SessionState> + Send + Sync>;

/// The session's default schema (see the module docs).
pub struct ViewSchema {
    state: StateFn,
    /// Views planned so far, and whatever the user created.
    tables: MemorySchemaProvider,
    /// Built-in views the user dropped.
    dropped: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for ViewSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewSchema").field("tables", &self.tables.table_names()).finish()
    }
}

impl ViewSchema {
    /// The schema, planning views with the state `state` returns.
    pub fn new(state: impl Fn() -> Option<SessionState> + Send + Sync + 'static) -> ViewSchema {
        ViewSchema { state: Box::new(state), tables: MemorySchemaProvider::new(), dropped: Mutex::default() }
    }

    /// The SQL of a built-in view that has not been dropped.
    fn builtin(&self, name: &str) -> Option<&'static str> {
        let sql = VIEWS.iter().find(|(n, _)| *n == name)?.1;
        (!self.dropped.lock().expect("not poisoned").contains(name)).then_some(sql)
    }

    async fn plan(&self, sql: &'static str) -> Result<Arc<dyn TableProvider>> {
        let state = (self.state)().ok_or_else(|| DataFusionError::Internal("the session is gone".into()))?;
        let plan = state.create_logical_plan(sql).await?;
        // As `CREATE VIEW` does: the stored plan is type-coerced.
        let plan = Analyzer::with_rules(vec![Arc::new(TypeCoercion::new())]).execute_and_check(plan, &ConfigOptions::default(), |_, _| {})?;
        Ok(Arc::new(ViewTable::new(plan, Some(sql.to_owned()))))
    }
}

#[async_trait]
impl SchemaProvider for ViewSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.tables.table_names();
        let unplanned: Vec<String> = VIEWS.iter().map(|(n, _)| n.to_string()).filter(|n| self.builtin(n).is_some() && !names.contains(n)).collect();
        names.extend(unplanned);
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.tables.table(name).await? {
            return Ok(Some(t));
        }
        let Some(sql) = self.builtin(name) else { return Ok(None) };
        let view = self.plan(sql).await.map_err(|e| e.context(format!("view `{name}` (queries/views/{name}.sql)")))?;
        // Another statement may have planned it meanwhile: keep the first.
        match self.tables.register_table(name.to_owned(), view.clone()) {
            Ok(_) => Ok(Some(view)),
            Err(_) => self.tables.table(name).await,
        }
    }

    async fn table_type(&self, name: &str) -> Result<Option<TableType>> {
        if self.builtin(name).is_some() && !self.tables.table_exist(name) {
            return Ok(Some(TableType::View));
        }
        self.tables.table_type(name).await
    }

    fn register_table(&self, name: String, table: Arc<dyn TableProvider>) -> Result<Option<Arc<dyn TableProvider>>> {
        if self.builtin(&name).is_some() && !self.tables.table_exist(&name) {
            return Err(DataFusionError::Execution(format!("The table {name} already exists")));
        }
        self.dropped.lock().expect("not poisoned").remove(&name);
        self.tables.register_table(name, table)
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let builtin = self.builtin(name).is_some();
        let planned = self.tables.deregister_table(name)?;
        if !builtin {
            return Ok(planned);
        }
        self.dropped.lock().expect("not poisoned").insert(name.to_owned());
        // Never planned: nothing to hand back but the fact that it existed.
        Ok(Some(planned.unwrap_or_else(|| Arc::new(EmptyTable::new(Arc::new(Schema::empty()))))))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables.table_exist(name) || self.builtin(name).is_some()
    }
}
