//! The chart's record of a run: the training bound of each chunk and the test bound of each
//! evaluation, against examples seen (the paper's x-axis). A saved run carries it as its
//! checkpoint's extra bytes, as JSON in the shape the page keeps (`{ train: { x, loss,
//! reconstruction, kl }, test: { … } }`), so a run saved by the page or by the native trainer
//! opens with its chart in either.

use serde::{Deserialize, Serialize};

/// One line of the chart: parallel columns, `x` the examples seen at each point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub x: Vec<u64>,
    pub loss: Vec<f64>,
    pub reconstruction: Vec<f64>,
    pub kl: Vec<f64>,
}

impl Series {
    /// Appends a point; a point at the `x` of the last one replaces it (the same step measured
    /// again, as the page does when a run is paused twice at one step).
    pub fn record(&mut self, examples_seen: u64, loss: f64, reconstruction: f64, kl: f64) {
        if self.x.last() == Some(&examples_seen) {
            self.x.pop();
            self.loss.pop();
            self.reconstruction.pop();
            self.kl.pop();
        }
        self.x.push(examples_seen);
        self.loss.push(loss);
        self.reconstruction.push(reconstruction);
        self.kl.push(kl);
    }

    pub fn len(&self) -> usize {
        self.x.len()
    }

    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

/// The whole chart of a run: the bound on training minibatches and on the test set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    #[serde(default)]
    pub train: Series,
    #[serde(default)]
    pub test: Series,
    /// The visitor's images the run was trained on (the page's `DataSet`); absent for MNIST.
    #[serde(default, rename = "dataSet", skip_serializing_if = "Option::is_none")]
    pub data_set: Option<DataSetRecord>,
}

/// Which images a run was trained on, when they are a visitor's own (www/protocol.js's
/// `DataSet`): what the page records in a saved run and writes as `dataset.json` beside the IDX
/// files of "Download data set", so that a run is only continued on the images it was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSetRecord {
    /// What the visitor picked (a folder's or a zip's name).
    pub name: String,
    /// SHA-256 of the processed images and their labels, hex: what identifies the set.
    pub hash: String,
    /// Images in all (training and test).
    pub count: usize,
    #[serde(default)]
    pub labelled: bool,
    /// The class each label 0–9 stands for.
    #[serde(default)]
    pub names: Vec<String>,
}

impl DataSetRecord {
    /// How a message names the data a run has, or was trained on (`None`: MNIST).
    pub fn describe(set: Option<&Self>) -> String {
        match set {
            Some(set) => format!("the images \"{}\" ({} images, SHA-256 {}…)", set.name, set.count, &set.hash[..set.hash.len().min(12)]),
            None => "MNIST".to_string(),
        }
    }

    /// Whether `a` and `b` are the same data (both MNIST, or the same hash).
    pub fn same(a: Option<&Self>, b: Option<&Self>) -> bool {
        a.map(|s| &s.hash) == b.map(|s| &s.hash)
    }
}

impl History {
    /// The history a checkpoint's extra bytes hold, or an empty one where they hold none (a run
    /// saved before runs carried their chart, or other bytes).
    pub fn from_extra(extra: &[u8]) -> Self {
        serde_json::from_slice(extra).unwrap_or_default()
    }

    /// As a checkpoint's extra bytes.
    pub fn to_extra(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a history of numbers should serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_at_the_same_x_replaces_the_last() {
        let mut s = Series::default();
        s.record(100, 3.0, 2.0, 1.0);
        s.record(200, 2.5, 1.5, 1.0);
        s.record(200, 2.0, 1.25, 0.75);
        assert_eq!(s.x, vec![100, 200]);
        assert_eq!(s.loss, vec![3.0, 2.0]);
        assert_eq!(s.reconstruction, vec![2.0, 1.25]);
        assert_eq!(s.kl, vec![1.0, 0.75]);
    }

    #[test]
    fn reads_the_pages_run_log_and_survives_other_bytes() {
        let page = br#"{"train":{"x":[100,200],"loss":[540.5,300.25],"reconstruction":[530,290],"kl":[10.5,10.25]},"test":{"x":[200],"loss":[280],"reconstruction":[270],"kl":[10]}}"#;
        let h = History::from_extra(page);
        assert_eq!(h.train.x, vec![100, 200]);
        assert_eq!(h.train.loss, vec![540.5, 300.25]);
        assert_eq!(h.test.kl, vec![10.0]);
        assert_eq!(History::from_extra(&h.to_extra()), h);
        assert_eq!(History::from_extra(b"{}"), History::default());
        assert_eq!(History::from_extra(b"\xff not json"), History::default());
    }

    #[test]
    fn carries_the_pages_data_set_and_leaves_it_out_for_mnist() {
        let page = br#"{"train":{"x":[],"loss":[],"reconstruction":[],"kl":[]},"test":{"x":[],"loss":[],"reconstruction":[],"kl":[]},"dataSet":{"name":"shapes","hash":"ab12","count":300,"labelled":true,"names":["circle","square"]}}"#;
        let h = History::from_extra(page);
        let set = h.data_set.clone().unwrap();
        assert_eq!((set.name.as_str(), set.hash.as_str(), set.count), ("shapes", "ab12", 300));
        assert_eq!(History::from_extra(&h.to_extra()), h);
        assert!(!String::from_utf8(History::default().to_extra()).unwrap().contains("dataSet"));
        assert!(DataSetRecord::same(None, None) && !DataSetRecord::same(Some(&set), None));
    }
}
