//! Reading one stored Parquet file synchronously, wherever the dataset lives.

use std::fs::File;

use datafusion::parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use object_store::ObjectStoreExt;
use object_store::path::Path;

use super::StoreError;
use super::layout::{Dataset, block_on};

impl Dataset {
    /// Where `path` is, for messages: a local file path or the object's URL.
    pub fn describe(&self, path: &Path) -> String {
        match self.local_dir() {
            Some(dir) => dir.join(path.as_ref()).display().to_string(),
            None => format!("{}/{path}", self.display.trim_end_matches('/')),
        }
    }

    /// A reader of the Parquet file at `path` (relative to the root). A local file is read
    /// as it goes; an object in a remote store is fetched whole first.
    pub fn parquet_reader(&self, path: &Path, batch_size: usize) -> Result<ParquetRecordBatchReader, StoreError> {
        let perr = |source| StoreError::Parquet { path: self.describe(path), source };
        let builder = match self.local_dir() {
            Some(dir) => {
                let file = dir.join(path.as_ref());
                let f = File::open(&file).map_err(|source| StoreError::Read { path: file.display().to_string(), source })?;
                ParquetRecordBatchReaderBuilder::try_new(f).and_then(|b| b.with_batch_size(batch_size).build())
            }
            None => {
                let bytes = block_on(async { self.store.get(path).await?.bytes().await })
                    .map_err(|source| StoreError::Object { path: self.describe(path), source })?;
                ParquetRecordBatchReaderBuilder::try_new(bytes).and_then(|b| b.with_batch_size(batch_size).build())
            }
        };
        builder.map_err(perr)
    }
}
