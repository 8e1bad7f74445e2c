//! Timers and outbound connections scoped to the layer they belong to: a layer that
//! serves several protocols (a [`Router`](crate::Router)'s routes,
//! [`Listeners`](crate::Listeners)) pushes the index of the protocol a timer or a connect
//! came from on its way out, and pops it when the timer fires or the connection is made.

use crate::command::{Command, Commands};
use crate::protocol::Outbox;

/// Scopes the application timers among `cmds` to layer `index` (a router's route, a listener).
pub(crate) fn scope_timers(cmds: &mut [Command], index: usize) {
    for cmd in cmds {
        if let Command::Timer { scope, .. }
        | Command::CancelTimer { scope, .. }
        | Command::Connect { scope, .. }
        | Command::CancelConnect { scope, .. } = cmd
        {
            *scope = scope.push(index);
        }
    }
}

/// Runs `f` and scopes the application timers it queued to layer `index` (a router's route, a listener).
pub(crate) fn scoped<T>(
    out: &mut Outbox<'_>,
    index: usize,
    f: impl FnOnce(&mut Outbox<'_>) -> T,
) -> T {
    let mark = out.command_mark();
    let result = f(out);
    scope_timers(out.commands_since(mark), index);
    result
}

pub(crate) fn scope_commands(cmds: Commands, index: usize) -> Commands {
    let timers = |c: &Command| {
        matches!(
            c,
            Command::Timer { .. }
                | Command::CancelTimer { .. }
                | Command::Connect { .. }
                | Command::CancelConnect { .. }
        )
    };
    if !cmds.as_slice().iter().any(timers) {
        return cmds;
    }
    let mut cmds: Vec<Command> = cmds.into_iter().collect();
    scope_timers(&mut cmds, index);
    cmds.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::TimerScope;
    use std::time::Duration;

    #[test]
    fn timers_carry_their_route_and_keep_their_whole_key() {
        let key = u64::MAX;
        let mut cmds = vec![
            Command::after(Duration::from_secs(1), key),
            Command::cancel_timer(key),
        ];
        scope_timers(&mut cmds, 3);
        let scope = TimerScope::default().push(3);
        assert!(
            matches!(cmds[0], Command::Timer { key: k, scope: s, .. } if k == key && s == scope)
        );
        assert!(
            matches!(cmds[1], Command::CancelTimer { key: k, scope: s } if k == key && s == scope)
        );
    }
}
