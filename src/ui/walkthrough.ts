// The Getting Started walkthrough (contributes.walkthroughs in package.json) opens by itself once,
// on the first activation of an installed extension, so a new user meets the model choice and the
// first suggestion before anything else. Development and test hosts start from fresh profiles
// every run and would open it every time, so they are left alone.
import * as vscode from "vscode";

const shownKey = "clasp.walkthroughShown";

/** `publisher.name#walkthroughId`, the argument VS Code's openWalkthrough command takes. */
export function walkthroughId(extension: vscode.Extension<unknown>): string {
    const walkthroughs = (extension.packageJSON as { contributes?: { walkthroughs?: { id: string }[] } }).contributes?.walkthroughs;
    if (!walkthroughs?.[0]) throw new Error("the manifest contributes no walkthrough");
    return `${extension.id}#${walkthroughs[0].id}`;
}

export async function openWalkthroughOnce(context: vscode.ExtensionContext): Promise<void> {
    if (context.extensionMode !== vscode.ExtensionMode.Production || context.globalState.get(shownKey)) return;
    await context.globalState.update(shownKey, true);
    // false: open it in the editor area beside the user's files, not the welcome page's own view
    await vscode.commands.executeCommand("workbench.action.openWalkthrough", walkthroughId(context.extension), false);
}
