/* The zws command: dispatch to a subcommand, global --help and --version. */
#include <string.h>

#include "tool.h"

typedef struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *f);
} command;

static const command commands[] = {
    {"client", "connect to a ws:// or wss:// URL: stdin lines out, messages in",
     cmd_client, cmd_client_usage},
    {"server", "accept connections; echo or print their messages", cmd_server,
     cmd_server_usage},
    {"serve", "event-loop server: echo or broadcast, one loop per thread", cmd_serve,
     cmd_serve_usage},
    {"bench", "load generator: N connections echoing, every echo checked", cmd_bench,
     cmd_bench_usage},
    {"feed", "a local exchange market-data service (streams, requests, REST depth)",
     cmd_feed, cmd_feed_usage},
    {"md", "market-data consumer: parse, keep books, measure; live view", cmd_md,
     cmd_md_usage},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const command *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: zws COMMAND [options]\n"
               "       zws help COMMAND\n\n"
               "WebSocket (RFC 6455) tools: messages on stdout, diagnostics on stderr.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s  %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-8s  %s\n", "help", "show a command's options");
    fprintf(f, "\nOptions:\n"
               "  -h, --help     show this help\n"
               "  -V, --version  show the version\n\n"
               "Exit status: 0 done, 1 usage error, 2 could not connect or the handshake\n"
               "was refused, 3 the peer broke the protocol or the connection was lost,\n"
               "4 stdout could not be written.\n");
}

static int help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return TOOL_EXIT_OK;
    }
    const command *cmd = find(argv[1]);
    if (!cmd) {
        fprintf(stderr, "zws help: unknown command '%s'\nTry 'zws --help'.\n", argv[1]);
        return TOOL_EXIT_USAGE;
    }
    cmd->usage(stdout);
    return TOOL_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (tool_standard_fds()) {
        fprintf(stderr, "zws: cannot open /dev/null for a closed stdin, stdout or stderr\n");
        return TOOL_EXIT_USAGE;
    }
    if (argc < 2) {
        fprintf(stderr, "zws: missing command\nTry 'zws --help'.\n");
        return TOOL_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0)
        return help(1, argv + 1);
    if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
        printf("zws %s\n", zws_version_string());
        return TOOL_EXIT_OK;
    }
    if (strcmp(name, "help") == 0)
        return help(argc - 1, argv + 1);
    const command *cmd = find(name);
    if (!cmd) {
        fprintf(stderr, "zws: unknown command '%s'\nTry 'zws --help'.\n", name);
        return TOOL_EXIT_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}
