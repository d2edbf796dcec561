import type { Command } from './command';
import { createCommand } from './create';
import { joinCommand } from './join';
import { listCommand } from './list';
import { manageCommand } from './manage';
import { tokenServerCommand } from './token-server';

/** Every `swarm` subcommand, in the order `swarm help` lists them. */
export const COMMANDS: Command[] = [createCommand, listCommand, manageCommand, joinCommand, tokenServerCommand];
