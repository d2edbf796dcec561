import type { Command } from './command';

export const manageCommand: Command = {
  name: 'manage',
  aliases: ['m'],
  summary: 'Manage a docker cluster',
  help: 'Usage: swarm manage [OPTIONS] <discovery>\n',
  async run(): Promise<void> {
    throw new Error('not implemented yet');
  },
};
