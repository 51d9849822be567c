//! The one connection type the Redis store talks through: a single server (through a
//! reconnecting [`ConnectionManager`]) or a Redis Cluster (through the cluster-aware
//! client, which follows slot moves and reconnects to nodes on its own).
//!
//! Every key the store writes together carries one hash tag (see
//! [`crate::store::keys`]), so transactions and scripts never span slots. Plain (non-transactional) pipelines may
//! touch several practitioners' keys at once, e.g. the practitioner list; the cluster
//! client refuses such a pipeline, so [`RedisConn`] splits it into runs of consecutive
//! commands on one hash tag and sends each run to its node, in order. Results come back
//! in the pipeline's order, exactly as a single server would give them.

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Arg, Cmd, Pipeline, RedisFuture, Value};

/// A connection to a single Redis server or to a Redis Cluster.
#[derive(Clone)]
pub enum RedisConn {
    /// One server (or a primary behind a proxy/sentinel address).
    Single(ConnectionManager),
    /// A Redis Cluster.
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Single(c) => c.req_packed_command(cmd),
            RedisConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConn::Cluster(c) => {
                // A transaction is single-slot by construction; the server refuses it
                // otherwise.
                if pipeline.is_transaction() {
                    return c.req_packed_commands(pipeline, offset, count);
                }
                Box::pin(async move {
                    let mut values = Vec::with_capacity(pipeline.len());
                    for run in runs_by_hash_tag(pipeline) {
                        let n = run.len();
                        values.extend(c.req_packed_commands(&run, 0, n).await?);
                    }
                    Ok(values.into_iter().skip(offset).take(count).collect())
                })
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(c) => c.get_db(),
            RedisConn::Cluster(c) => c.get_db(),
        }
    }
}

/// Splits a pipeline into runs of consecutive commands whose first key has the same
/// hash tag (the whole key when it has none), keeping their order. Two different tags
/// may share a slot; splitting them anyway only costs a round trip.
fn runs_by_hash_tag(pipeline: &Pipeline) -> Vec<Pipeline> {
    let mut runs: Vec<(Vec<u8>, Pipeline)> = Vec::new();
    for cmd in pipeline.cmd_iter() {
        let tag = hash_tag(cmd).to_vec();
        match runs.last_mut() {
            Some((last, run)) if *last == tag => {
                run.add_command(cmd.clone());
            }
            _ => {
                let mut run = redis::pipe();
                run.add_command(cmd.clone());
                runs.push((tag, run));
            }
        }
    }
    runs.into_iter().map(|(_, run)| run).collect()
}

/// The part of a command's key that decides its cluster slot: the text between the
/// first `{` and the next `}` when that is not empty, else the whole key. The store's
/// pipelined commands all name their key first, but for a script (`EVALSHA sha
/// numkeys key …`), whose first key comes third.
fn hash_tag(cmd: &Cmd) -> &[u8] {
    let mut args = cmd.args_iter();
    let first = args.next();
    let is_script = matches!(first, Some(Arg::Simple(name))
        if name.eq_ignore_ascii_case(b"EVALSHA") || name.eq_ignore_ascii_case(b"EVAL"));
    let key = match if is_script { args.nth(2) } else { args.next() } {
        Some(Arg::Simple(key)) => key,
        _ => return &[],
    };
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(p: &Pipeline) -> Vec<String> {
        runs_by_hash_tag(p)
            .iter()
            .map(|run| {
                run.cmd_iter()
                    .map(|c| String::from_utf8_lossy(hash_tag(c)).into_owned())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    #[test]
    fn the_hash_tag_is_the_braced_part_or_the_whole_key() {
        let tag =
            |key: &str| String::from_utf8_lossy(hash_tag(redis::cmd("GET").arg(key))).into_owned();
        assert_eq!(tag("gr:{abc}:keys"), "abc");
        assert_eq!(tag("gr:{q}:msg:{x}"), "q");
        assert_eq!(tag("gr:slug:demo"), "gr:slug:demo");
        assert_eq!(tag("gr:{}:x"), "gr:{}:x");
        assert_eq!(tag("gr:{open"), "gr:{open");
        assert_eq!(hash_tag(&redis::cmd("PING")), b"");
        let script = redis::cmd("EVALSHA")
            .arg("0123abcd")
            .arg(1)
            .arg("gr:{q0.2}:due")
            .arg("gr:{q0.2}:msg:")
            .clone();
        assert_eq!(
            hash_tag(&script),
            b"q0.2",
            "a script's slot is its first key's"
        );
        assert_eq!(hash_tag(redis::cmd("EVALSHA").arg("0123abcd").arg(0)), b"");
    }

    #[test]
    fn pipelines_split_into_ordered_runs_of_one_tag() {
        let mut p = redis::pipe();
        p.get("gr:{a}:practitioner")
            .hgetall("gr:{a}:keys")
            .get("gr:{b}:practitioner")
            .set("gr:slug:x", "1")
            .get("gr:{a}:ranges");
        assert_eq!(
            tags(&p),
            vec!["a,a", "b", "gr:slug:x", "a"],
            "consecutive commands on one tag share a run; order is kept"
        );
        assert_eq!(runs_by_hash_tag(&redis::pipe()).len(), 0);
    }
}
