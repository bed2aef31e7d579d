/* demo.h: `portico run` until the scenario runner exists: a mock upstream,
 * the gateway in front of it, and a request through both. */
#pragma once

int portico_demo_main (int argc, char **argv);
