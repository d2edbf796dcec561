import type { Command } from './command';
import { manageCommand } from './manage';

/** Every `swarm` subcommand, in the order `swarm help` lists them. */
export const COMMANDS: Command[] = [manageCommand];
