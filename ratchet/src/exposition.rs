//! The Prometheus text format (version 0.0.4): families of samples, gathered from every
//! layer, then written out once; and the series more than one layer adds to.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Metrics being gathered for one scrape. Each layer of the server adds its own
/// ([`Protocol::metrics`](crate::Protocol::metrics)); a sample given twice (two
/// WebSocket routes, say) is added up, so the output has each series once.
///
/// ```
/// use ratchet::metrics::Exposition;
///
/// let mut e = Exposition::default();
/// e.counter("app_jobs_total", "Jobs done.", &[("kind", "mail")], 3);
/// e.counter("app_jobs_total", "Jobs done.", &[("kind", "mail")], 2);
/// let text = e.render();
/// assert!(text.contains("# TYPE app_jobs_total counter\n"));
/// assert!(text.contains("app_jobs_total{kind=\"mail\"} 5\n"));
/// ```
#[derive(Debug, Default)]
pub struct Exposition {
    families: BTreeMap<&'static str, Family>,
}

#[derive(Debug)]
struct Family {
    help: &'static str,
    kind: &'static str,
    /// Samples by their label set, as written between the braces.
    samples: BTreeMap<String, f64>,
    /// Histograms by their label set.
    histograms: BTreeMap<String, Histogram>,
}

impl Exposition {
    /// Adds `value` to the counter `name` with `labels` (names ending in `_total`, by
    /// convention).
    pub fn counter(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        value: u64,
    ) {
        *self.sample(name, help, "counter", labels) += value as f64;
    }

    /// Adds `value` to the gauge `name` with `labels`.
    pub fn gauge(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        value: f64,
    ) {
        *self.sample(name, help, "gauge", labels) += value;
    }

    /// Adds `histogram`'s observations to the histogram `name` with `labels`.
    pub fn histogram(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        histogram: &Histogram,
    ) {
        let family = self.family(name, help, "histogram");
        match family.histograms.entry(label_set(labels)) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(histogram.clone());
            }
            std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().merge(histogram),
        }
    }

    /// The sum of the samples of `name` so far, over every label set.
    pub fn total(&self, name: &str) -> f64 {
        self.families
            .get(name)
            .map_or(0.0, |f| f.samples.values().sum())
    }

    /// Adds `other`'s samples and observations to these (another worker's, say).
    pub(crate) fn merge(&mut self, other: Exposition) {
        for (name, theirs) in other.families {
            let ours = self.family(name, theirs.help, theirs.kind);
            for (labels, value) in theirs.samples {
                *ours.samples.entry(labels).or_insert(0.0) += value;
            }
            for (labels, h) in theirs.histograms {
                match ours.histograms.entry(labels) {
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(h);
                    }
                    std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().merge(&h),
                }
            }
        }
    }

    fn family(
        &mut self,
        name: &'static str,
        help: &'static str,
        kind: &'static str,
    ) -> &mut Family {
        self.families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            samples: BTreeMap::new(),
            histograms: BTreeMap::new(),
        })
    }

    fn sample(
        &mut self,
        name: &'static str,
        help: &'static str,
        kind: &'static str,
        labels: &[(&str, &str)],
    ) -> &mut f64 {
        let family = self.family(name, help, kind);
        family.samples.entry(label_set(labels)).or_insert(0.0)
    }

    /// The text a scrape gets.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(256 * self.families.len());
        for (name, family) in &self.families {
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} {}", family.kind);
            for (labels, value) in &family.samples {
                let _ = writeln!(out, "{name}{} {value}", braces(labels));
            }
            for (labels, h) in &family.histograms {
                let mut cumulative = 0;
                for (bound, count) in h.bounds.iter().zip(&h.counts) {
                    cumulative += count;
                    let le = format!("le=\"{bound}\"");
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {cumulative}",
                        braces(&join(labels, &le))
                    );
                }
                let inf = join(labels, "le=\"+Inf\"");
                let _ = writeln!(out, "{name}_bucket{} {}", braces(&inf), h.count);
                let _ = writeln!(out, "{name}_sum{} {}", braces(labels), h.sum);
                let _ = writeln!(out, "{name}_count{} {}", braces(labels), h.count);
            }
        }
        out
    }
}

/// `name="value",…`, values escaped as the format asks.
fn label_set(labels: &[(&str, &str)]) -> String {
    let mut set = String::new();
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            set.push(',');
        }
        let _ = write!(set, "{name}=\"");
        for c in value.chars() {
            match c {
                '\\' => set.push_str("\\\\"),
                '"' => set.push_str("\\\""),
                '\n' => set.push_str("\\n"),
                c => set.push(c),
            }
        }
        set.push('"');
    }
    set
}

fn join(labels: &str, more: &str) -> String {
    match labels.is_empty() {
        true => more.to_owned(),
        false => format!("{labels},{more}"),
    }
}

fn braces(labels: &str) -> String {
    match labels.is_empty() {
        true => String::new(),
        false => format!("{{{labels}}}"),
    }
}

/// Durations counted into fixed buckets (seconds), as a Prometheus histogram: cheap to
/// observe (a short scan, no allocation).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// An empty histogram with these upper bounds, in seconds, ascending.
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    /// Counts one observation.
    pub fn observe(&mut self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = self.bounds.iter().position(|&b| secs <= b) {
            self.counts[i] += 1;
        }
        self.sum += secs;
        self.count += 1;
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn merge(&mut self, other: &Histogram) {
        if self.bounds == other.bounds {
            for (a, b) in self.counts.iter_mut().zip(&other.counts) {
                *a += b;
            }
            self.sum += other.sum;
            self.count += other.count;
        }
    }
}

/// The help of `ratchet_connections`, which each layer adds its open connections to.
pub(crate) const CONNECTIONS: &str =
    "Connections open, by protocol (http: not upgraded, or plain HTTP).";

/// Counts every message-taking layer adds to: messages received, and their bytes.
pub(crate) fn received(e: &mut Exposition, messages: u64, bytes: u64) {
    e.counter(
        "ratchet_messages_received_total",
        "Messages received.",
        &[],
        messages,
    );
    let help = "Bytes of the messages received (after inflating).";
    e.counter("ratchet_message_bytes_received_total", help, &[], bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_add_up_and_render_in_the_text_format() {
        let mut e = Exposition::default();
        e.gauge("g", "A gauge.", &[], 2.0);
        e.gauge("g", "A gauge.", &[], 1.5);
        e.counter("c_total", "A \"counter\".", &[("v", "a\"b\\c\nd")], 1);
        let mut h = Histogram::new(&[0.001, 0.01]);
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(5));
        h.observe(Duration::from_secs(1));
        e.histogram("t_seconds", "Turns.", &[], &h);
        e.histogram("t_seconds", "Turns.", &[], &h);
        let text = e.render();
        assert!(text.contains("# TYPE g gauge\ng 3.5\n"), "{text}");
        assert!(text.contains(r#"c_total{v="a\"b\\c\nd"} 1"#), "{text}");
        assert!(
            text.contains("t_seconds_bucket{le=\"0.001\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("t_seconds_bucket{le=\"0.01\"} 4\n"), "{text}");
        assert!(text.contains("t_seconds_bucket{le=\"+Inf\"} 6\n"), "{text}");
        assert!(text.contains("t_seconds_count 6\n"), "{text}");
        assert_eq!(e.total("g"), 3.5);
    }

    #[test]
    fn two_expositions_merge_into_the_sums() {
        let mut h = Histogram::new(&[0.001]);
        h.observe(Duration::from_micros(100));
        let mut a = Exposition::default();
        a.counter("c_total", "C.", &[("k", "x")], 2);
        a.histogram("t_seconds", "T.", &[], &h);
        let mut b = Exposition::default();
        b.counter("c_total", "C.", &[("k", "x")], 3);
        b.counter("c_total", "C.", &[("k", "y")], 1);
        b.gauge("g", "G.", &[], 4.0);
        b.histogram("t_seconds", "T.", &[], &h);
        a.merge(b);
        let text = a.render();
        assert!(text.contains("c_total{k=\"x\"} 5\n"), "{text}");
        assert!(text.contains("c_total{k=\"y\"} 1\n"), "{text}");
        assert!(text.contains("# TYPE g gauge\ng 4\n"), "{text}");
        assert!(text.contains("t_seconds_count 2\n"), "{text}");
    }
}
