//! The dataset's Delta tables as DataFusion sees them: an object store whose listings are the
//! live files of each table's latest snapshot (read from the log at every listing, so each
//! statement sees the latest commits and never lists data directories), and whose reads go
//! to the dataset's store. DataFusion's listing tables over it get partition values, file
//! statistics and row-group pruning as for any Parquet directory.
//!
//! Two views of it are registered: `raw` lists every live file; `committed` leaves out the
//! data files of simulation groups whose `simulations` commit has not landed (a run killed
//! between the two commits).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions,
    PutPayload, PutResult, Result,
};

use crate::store::Dataset;
use crate::store::commit::{committed_groups, visible};
use crate::store::registry::{self, Scope};
use crate::store::table::Table;

/// A read-only store listing Delta snapshots (see the module docs).
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    dataset: Dataset,
    committed_only: bool,
    /// The size the log gives each listed file, to catch a file changed behind its back.
    sizes: Arc<Mutex<HashMap<Path, u64>>>,
}

impl fmt::Display for SnapshotStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SnapshotStore({}, committed only: {})", self.dataset.display, self.committed_only)
    }
}

fn generic(e: impl std::error::Error + Send + Sync + 'static) -> object_store::Error {
    object_store::Error::Generic { store: "simcash snapshot", source: Box::new(e) }
}

fn read_only(operation: &str) -> object_store::Error {
    object_store::Error::NotImplemented { operation: operation.to_owned(), implementer: "simcash snapshot store (read only)".to_owned() }
}

/// A data file whose size is not the one its table's log records.
#[derive(Debug, thiserror::Error)]
#[error("{path}: the file has {found} bytes but the Delta log records {logged} (it was changed or damaged after its commit)")]
struct SizeMismatch {
    path: String,
    logged: u64,
    found: u64,
}

impl SnapshotStore {
    /// The store over `dataset`; `committed_only` hides uncommitted simulation groups.
    pub fn new(dataset: Dataset, committed_only: bool) -> SnapshotStore {
        SnapshotStore { dataset, committed_only, sizes: Arc::default() }
    }

    /// The live (and, if asked, committed) files under `prefix` (`<table>[/…]`).
    async fn files(&self, prefix: Option<Path>) -> Result<Vec<ObjectMeta>> {
        let prefix = prefix.unwrap_or_default();
        let Some(def) = prefix.parts().next().and_then(|t| registry::get(t.as_ref())) else { return Ok(Vec::new()) };
        let table = Table::new(&self.dataset, def);
        let snap = table.snapshot().await.map_err(generic)?;
        let groups = if self.committed_only && def.scope == Scope::Simulation && def.name != "simulations" {
            let sims = Table::new(&self.dataset, registry::get("simulations").expect("registered"));
            Some(committed_groups(&sims.snapshot().await.map_err(generic)?))
        } else {
            None
        };
        let files: Vec<ObjectMeta> = snap
            .files
            .values()
            .filter(|a| groups.as_ref().is_none_or(|g| visible(a, g)))
            .map(|a| ObjectMeta {
                location: table.object_path(&a.path),
                last_modified: chrono::DateTime::from_timestamp_millis(a.modification_time).unwrap_or_default(),
                size: a.size.max(0) as u64,
                e_tag: None,
                version: None,
            })
            .filter(|m| m.location.prefix_matches(&prefix))
            .collect();
        let mut sizes = self.sizes.lock().expect("not poisoned");
        sizes.extend(files.iter().map(|m| (m.location.clone(), m.size)));
        Ok(files)
    }
}

#[async_trait]
impl ObjectStore for SnapshotStore {
    async fn put_opts(&self, _: &Path, _: PutPayload, _: PutOptions) -> Result<PutResult> {
        Err(read_only("put"))
    }

    async fn put_multipart_opts(&self, _: &Path, _: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        Err(read_only("put_multipart"))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let result = self.dataset.store.get_opts(location, options).await?;
        let logged = self.sizes.lock().expect("not poisoned").get(location).copied();
        match logged {
            Some(size) if size != result.meta.size => Err(generic(SizeMismatch {
                path: self.dataset.describe(location),
                logged: size,
                found: result.meta.size,
            })),
            _ => Ok(result),
        }
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        locations.map(|_| Err(read_only("delete"))).boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let this = self.clone();
        let prefix = prefix.cloned();
        stream::once(async move { this.files(prefix).await })
            .flat_map(|r| match r {
                Ok(files) => stream::iter(files.into_iter().map(Ok)).boxed(),
                Err(e) => stream::iter([Err(e)]).boxed(),
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let prefix = prefix.cloned().unwrap_or_default();
        let depth = prefix.parts().count();
        let mut common_prefixes = Vec::new();
        let mut objects = Vec::new();
        for meta in self.files(Some(prefix)).await? {
            let parts: Vec<_> = meta.location.parts().collect();
            if parts.len() == depth + 1 {
                objects.push(meta);
            } else {
                let dir = Path::from_iter(parts.into_iter().take(depth + 1));
                if !common_prefixes.contains(&dir) {
                    common_prefixes.push(dir);
                }
            }
        }
        Ok(ListResult { common_prefixes, objects })
    }

    async fn copy_opts(&self, _: &Path, _: &Path, _: CopyOptions) -> Result<()> {
        Err(read_only("copy"))
    }
}
