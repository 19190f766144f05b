/**
 * Reads TypeScript/JavaScript sources (with TypeScript's parser, without running them) for what
 * they need from outside the repository: the programs they run and the packages they import.
 * Used by prereqs.test.ts; only literals are seen, so a program named in a variable is missed.
 */
import { parse as parseShell } from 'shell-quote';
import ts from 'typescript';

export interface Found {
  /** A program name (the basename of an absolute path) or an import specifier. */
  name: string;
  line: number;
  how: string;
}

export interface Needs {
  programs: Found[];
  /** Value imports only: `import type` is erased and needs nothing at run time. */
  imports: Found[];
}

/** Calls whose first argument is a program: child_process's and phaseflow's own wrappers and lookups. */
const PROGRAM_CALLS = new Set([
  'spawn',
  'spawnSync',
  'execFile',
  'execFileSync',
  'sandboxed',
  'withParentDeath',
  'groupDiesWithParent',
  'findOnPath',
  'whichSync',
  'onPath',
]);
/** Calls whose first argument is a shell command line (only as plain identifiers: `re.exec(s)` is a RegExp). */
const SHELL_CALLS = new Set(['exec', 'execSync']);
/** Object properties that hold a shell command line (epic specs' tasks and gates, the agent's Bash tool). */
const SHELL_PROPERTIES = new Set(['command']);
/** Node options whose next argument is a module. */
const NODE_REQUIRE_FLAGS = new Set(['-r', '--require', '--import']);

export function scanSource(fileName: string, text: string): Needs {
  const kind = /\.[cm]?js$/.test(fileName) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
  const needs: Needs = { programs: [], imports: [] };
  const lineOf = (node: ts.Node) => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const program = (name: string, node: ts.Node, how: string) => {
    // A relative path is a script of this repository, not something to install.
    if (!name || (name.includes('/') && !name.startsWith('/'))) return;
    needs.programs.push({
      name: name.startsWith('/') ? name.slice(name.lastIndexOf('/') + 1) : name,
      line: lineOf(node),
      how,
    });
  };
  const shell = (script: string, node: ts.Node, how: string) => {
    for (const name of shellPrograms(script)) program(name, node, how);
  };
  const module = (spec: string, node: ts.Node, how: string) =>
    needs.imports.push({ name: spec, line: lineOf(node), how });

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && !node.importClause?.isTypeOnly) {
      module(node.moduleSpecifier.text, node, 'import');
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      !node.isTypeOnly
    ) {
      module(node.moduleSpecifier.text, node, 'export from');
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isIdentifier(callee)
        ? callee.text
        : ts.isPropertyAccessExpression(callee)
          ? callee.name.text
          : '';
      const first = literal(node.arguments[0]);
      if (first !== undefined) {
        if (callee.kind === ts.SyntaxKind.ImportKeyword) module(first, node, 'import()');
        else if (ts.isIdentifier(callee) && name === 'require') module(first, node, 'require()');
        else if (
          ts.isPropertyAccessExpression(callee) &&
          name === 'resolve' &&
          ts.isIdentifier(callee.expression) &&
          callee.expression.text === 'require'
        )
          module(first, node, 'require.resolve()');
        else if (PROGRAM_CALLS.has(name)) program(first, node, `${name}()`);
        else if (ts.isIdentifier(callee) && SHELL_CALLS.has(name)) shell(first, node, `${name}()`);
      }
    } else if (ts.isArrayLiteralExpression(node)) {
      // ['-c', 'script'] is a shell's argv; ['-r', 'tsx/cjs'] is node's.
      node.elements.forEach((el, i) => {
        const flag = literal(el);
        const next = literal(node.elements[i + 1]);
        if (flag === undefined || next === undefined || next.startsWith('-')) return;
        if (flag === '-c') shell(next, node.elements[i + 1], 'sh -c');
        if (NODE_REQUIRE_FLAGS.has(flag)) module(next, node.elements[i + 1], `node ${flag}`);
      });
    } else if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && SHELL_PROPERTIES.has(node.name.text)) {
      const script = literal(node.initializer);
      if (script !== undefined) shell(script, node.initializer, `${node.name.text}: (a shell command)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return needs;
}

/** A string literal's text; a template's with each `${…}` as a placeholder that names nothing. */
function literal(node: ts.Node | undefined): string | undefined {
  if (!node) return undefined;
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node))
    return node.head.text + node.templateSpans.map((s) => `$__expr${s.literal.text}`).join('');
  return undefined;
}

const CONTROL_OPS = new Set(['&&', '||', ';', ';;', '|', '|&', '&', '(', ')']);
/** Shell keywords, after which a command follows. */
const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'while', 'until', 'do', 'done', 'fi', '!', '{', '}', 'time']);
/** Programs that run the command after them. */
const WRAPPERS = new Set(['exec', 'nohup', 'setsid']);
const WORD = /^[A-Za-z0-9_][\w.+-]*$|^\/[\w./+-]+$/;

/**
 * The programs a shell command line runs: each command's first word, looked into `sh -c '…'`.
 * Words that are not plain names (`$0`, `"$@"`, a template's `${…}`) are left out.
 */
export function shellPrograms(script: string): string[] {
  const found: string[] = [];
  for (const line of unquotedLines(script)) {
    const tokens = parseShell(line, (key) => `$${key}`);
    let atCommand = true;
    let redirect = false;
    tokens.forEach((tok, i) => {
      if (typeof tok !== 'string') {
        if ('op' in tok && tok.op !== 'glob') {
          if (CONTROL_OPS.has(tok.op)) atCommand = true;
          else redirect = true; // > < >> >& …: the next word is a file
        } else if ('op' in tok) atCommand = false;
        return;
      }
      if (redirect) {
        redirect = false;
        return;
      }
      if (!atCommand || /^\w+=/.test(tok)) return; // an argument, or VAR=value before the command
      if (KEYWORDS.has(tok)) return;
      atCommand = WRAPPERS.has(tok);
      if (!WORD.test(tok)) return;
      found.push(tok);
      const next = tokens[i + 1];
      const script2 = tokens[i + 2];
      if (/(^|\/)(ba)?sh$/.test(tok) && next === '-c' && typeof script2 === 'string')
        found.push(...shellPrograms(script2));
    });
  }
  return found;
}

/** Splits a script at newlines outside quotes (shell-quote reads a newline as a space, and `#` to the end). */
function unquotedLines(script: string): string[] {
  const lines: string[] = [];
  let quote = '';
  let start = 0;
  for (let i = 0; i < script.length; i++) {
    const c = script[i];
    if (c === '\\' && quote !== "'") i++;
    else if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '\n') {
      lines.push(script.slice(start, i));
      start = i + 1;
    }
  }
  lines.push(script.slice(start));
  return lines;
}
