//! Finding files that are not readable Parquet, to name them when a query fails.

use datafusion::parquet::file::metadata::ParquetMetaDataReader;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;

use super::StoreError;
use super::layout::Dataset;

/// Every `.parquet` object whose footer does not parse, with the reason. Reads whole files:
/// meant for the error path, not for routine checks.
pub async fn corrupt_files(dataset: &Dataset) -> Result<Vec<(String, String)>, StoreError> {
    let store = &dataset.store;
    let all: Vec<_> = store.list(None).try_collect().await.map_err(|source| StoreError::Object { path: dataset.display.clone(), source })?;
    let mut bad = Vec::new();
    for meta in all.into_iter().filter(|m| m.location.as_ref().ends_with(".parquet")) {
        let path = meta.location.to_string();
        let bytes = store
            .get(&meta.location)
            .await
            .map_err(|source| StoreError::Object { path: path.clone(), source })?
            .bytes()
            .await
            .map_err(|source| StoreError::Object { path: path.clone(), source })?;
        if let Err(e) = ParquetMetaDataReader::new().parse_and_finish(&bytes) {
            bad.push((path, e.to_string()));
        }
    }
    Ok(bad)
}
