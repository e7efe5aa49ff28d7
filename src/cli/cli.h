/* cli.h — one entry point per weir subcommand; each returns the process exit status. */
#ifndef WEIR_CLI_H
#define WEIR_CLI_H

int weir_cli_serve(int argc, char **argv, char **envp);

#endif
