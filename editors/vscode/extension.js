// The specc extension: starts `specc lsp` and hands it the `.spec` files.
// Everything else (diagnostics, hover, completion, ...) is the server's.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function settings() {
  const config = vscode.workspace.getConfiguration("specc");
  return {
    target: config.get("target"),
    defines: config.get("defines"),
    configFile: config.get("configFile"),
  };
}

function activate(context) {
  const command = vscode.workspace.getConfiguration("specc").get("server.command") || "specc";
  // TransportKind.stdio appends `--stdio`, which `specc lsp` accepts.
  const serverOptions = { command, args: ["lsp"], transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "specc" },
      { scheme: "untitled", language: "specc" },
    ],
    initializationOptions: settings(),
    // Sends `workspace/didChangeConfiguration` with the `specc` section when it changes.
    synchronize: { configurationSection: "specc" },
  };
  client = new LanguageClient("specc", "specc language server", serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.commands.registerCommand("specc.restartServer", () => client.restart()),
  );
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
