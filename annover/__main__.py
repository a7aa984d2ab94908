from annover.cli import entry

entry()
