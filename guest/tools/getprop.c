/* getprop: the guest's system properties, as Android's getprop prints them.
 *
 *   getprop                 every property, sorted by name, as "[NAME]: [VALUE]" lines
 *   getprop NAME [DEFAULT]  NAME's value (DEFAULT, or an empty line, when it is unset)
 *
 * The properties are init's (guest/init/properties.h): NAME=VALUE lines in
 * PROPERTIES_PATH. Exit status 0, or 1 when the file cannot be read (with a
 * message) and 2 for a usage error. */
#include "../init/properties.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char *name, *value;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

int main(int argc, char **argv)
{
	static char text[PROPERTY_COUNT_MAX * (PROPERTY_NAME_MAX + PROPERTY_VALUE_MAX + 2) + 1];
	static struct entry entries[PROPERTY_COUNT_MAX];
	size_t count = 0, len;
	FILE *f;

	if (argc > 3 || (argc > 1 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: getprop [NAME [DEFAULT]]\n");
		return 2;
	}
	f = fopen(PROPERTIES_PATH, "r");
	if (f == NULL) {
		fprintf(stderr, "getprop: cannot read %s (init writes it at boot): ", PROPERTIES_PATH);
		perror(NULL);
		return 1;
	}
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	for (char *line = strtok(text, "\n"); line != NULL && count < PROPERTY_COUNT_MAX;
	     line = strtok(NULL, "\n")) {
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		entries[count++] = (struct entry){ line, eq + 1 };
	}
	if (argc == 1) {
		qsort(entries, count, sizeof(entries[0]), by_name);
		for (size_t i = 0; i < count; i++)
			printf("[%s]: [%s]\n", entries[i].name, entries[i].value);
		return 0;
	}
	for (size_t i = 0; i < count; i++) {
		if (strcmp(entries[i].name, argv[1]) == 0) {
			printf("%s\n", entries[i].value);
			return 0;
		}
	}
	printf("%s\n", argc == 3 ? argv[2] : "");
	return 0;
}
