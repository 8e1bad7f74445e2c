//! Composites: the commands a handler returns, and what converts into them.

use super::Command;
use crate::id::ConnId;
use crate::message::Payload;

/// A composite: zero, one or many commands, in order. Holding none or one allocates
/// nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commands(Repr);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Repr {
    #[default]
    None,
    One(Command),
    Many(Vec<Command>),
}

impl Commands {
    /// No commands.
    pub const fn none() -> Self {
        Commands(Repr::None)
    }

    /// Appends a command.
    pub fn push(&mut self, cmd: impl IntoCommands) {
        for cmd in cmd.into_commands() {
            self.0 = match std::mem::take(&mut self.0) {
                Repr::None => Repr::One(cmd),
                Repr::One(first) => Repr::Many(vec![first, cmd]),
                Repr::Many(mut all) => {
                    all.push(cmd);
                    Repr::Many(all)
                }
            };
        }
    }

    /// Appends a command, builder style.
    #[must_use]
    pub fn and(mut self, cmd: impl IntoCommands) -> Self {
        self.push(cmd);
        self
    }

    /// The commands, in order.
    pub fn as_slice(&self) -> &[Command] {
        match &self.0 {
            Repr::None => &[],
            Repr::One(cmd) => std::slice::from_ref(cmd),
            Repr::Many(all) => all,
        }
    }

    /// How many commands.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// The payloads sent to `conn`, in order (handy in tests).
    pub fn sent_to(&self, conn: impl Into<ConnId>) -> Vec<Payload> {
        let conn = conn.into();
        self.as_slice()
            .iter()
            .filter_map(|cmd| match cmd {
                Command::Send { to, msg } if to.ids().contains(&conn) => Some(msg.clone()),
                _ => None,
            })
            .collect()
    }
}

impl IntoIterator for Commands {
    type Item = Command;
    type IntoIter = CommandsIter;
    fn into_iter(self) -> CommandsIter {
        CommandsIter(match self.0 {
            Repr::None => IterRepr::One(None),
            Repr::One(cmd) => IterRepr::One(Some(cmd)),
            Repr::Many(all) => IterRepr::Many(all.into_iter()),
        })
    }
}

/// Iterator over [`Commands`].
#[derive(Debug)]
pub struct CommandsIter(IterRepr);

#[derive(Debug)]
enum IterRepr {
    One(Option<Command>),
    Many(std::vec::IntoIter<Command>),
}

impl Iterator for CommandsIter {
    type Item = Command;
    fn next(&mut self) -> Option<Command> {
        match &mut self.0 {
            IterRepr::One(cmd) => cmd.take(),
            IterRepr::Many(all) => all.next(),
        }
    }
}

impl<C: IntoCommands> FromIterator<C> for Commands {
    fn from_iter<I: IntoIterator<Item = C>>(iter: I) -> Self {
        let mut all = Commands::none();
        for cmd in iter {
            all.push(cmd);
        }
        all
    }
}

impl<C: IntoCommands> Extend<C> for Commands {
    fn extend<I: IntoIterator<Item = C>>(&mut self, iter: I) {
        for cmd in iter {
            self.push(cmd);
        }
    }
}

/// What a handler may return: nothing, a command, a composite, an `Option` or a `Vec`
/// of these, or a pair or triple of them (`(conn.send(a), others.send(b))`), in order.
pub trait IntoCommands {
    /// The commands.
    fn into_commands(self) -> Commands;
}

impl IntoCommands for () {
    fn into_commands(self) -> Commands {
        Commands::none()
    }
}

impl IntoCommands for Command {
    fn into_commands(self) -> Commands {
        Commands(Repr::One(self))
    }
}

impl IntoCommands for Commands {
    fn into_commands(self) -> Commands {
        self
    }
}

impl<T: IntoCommands> IntoCommands for Option<T> {
    fn into_commands(self) -> Commands {
        self.map_or_else(Commands::none, IntoCommands::into_commands)
    }
}

impl<T: IntoCommands> IntoCommands for Vec<T> {
    fn into_commands(self) -> Commands {
        self.into_iter().collect()
    }
}

impl From<Command> for Commands {
    fn from(cmd: Command) -> Self {
        cmd.into_commands()
    }
}

impl From<()> for Commands {
    fn from((): ()) -> Self {
        Commands::none()
    }
}

impl<T: IntoCommands> From<Option<T>> for Commands {
    fn from(cmd: Option<T>) -> Self {
        cmd.into_commands()
    }
}

impl<T: IntoCommands> From<Vec<T>> for Commands {
    fn from(cmds: Vec<T>) -> Self {
        cmds.into_commands()
    }
}

impl<A: IntoCommands, B: IntoCommands> IntoCommands for (A, B) {
    fn into_commands(self) -> Commands {
        let mut cmds = self.0.into_commands();
        cmds.push(self.1);
        cmds
    }
}

impl<A: IntoCommands, B: IntoCommands, C: IntoCommands> IntoCommands for (A, B, C) {
    fn into_commands(self) -> Commands {
        let mut cmds = self.0.into_commands();
        cmds.push(self.1);
        cmds.push(self.2);
        cmds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_flattens_in_order() {
        let a = ConnId::from_raw(1);
        let b = ConnId::from_raw(2);
        let cmds = Commands::none()
            .and(Command::send(a, "one"))
            .and(vec![Command::send(b, "two"), Command::send(a, "three")])
            .and(None::<Command>)
            .and(());
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds.sent_to(a), ["one", "three"]);
        let collected: Vec<Command> = cmds.into_iter().collect();
        assert_eq!(collected[1], Command::send(b, "two"));
    }

    #[test]
    fn pairs_and_triples_keep_their_order() {
        let (a, b) = (ConnId::from_raw(1), ConnId::from_raw(2));
        let cmds = (
            Command::send(a, "1"),
            (Some(Command::send(b, "2")), ()),
            vec![Command::send(a, "3")],
        )
            .into_commands();
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds.sent_to(a), ["1", "3"]);
    }
}
