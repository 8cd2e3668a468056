#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/inodemap.h"

static size_t slot_of(const struct inode_map *m, dev_t dev, ino_t ino)
{
	size_t i = (size_t)(((uint64_t)ino * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)dev) & (m->cap - 1);

	while (m->slots[i].used && (m->slots[i].dev != dev || m->slots[i].ino != ino))
		i = (i + 1) & (m->cap - 1);
	return i;
}

const struct inode_slot *inode_map_find(const struct inode_map *m, dev_t dev, ino_t ino)
{
	size_t i;

	if (!m->cap)
		return NULL;
	i = slot_of(m, dev, ino);
	return m->slots[i].used ? &m->slots[i] : NULL;
}

bool inode_map_add(struct inode_map *m, dev_t dev, ino_t ino, const char *name)
{
	size_t i;

	if ((m->nr + 1) * 2 > m->cap) {
		struct inode_map bigger = { xcalloc(m->cap ? m->cap * 2 : 64, sizeof(*m->slots)), m->nr,
					    m->cap ? m->cap * 2 : 64 };

		for (size_t k = 0; k < m->cap; k++)
			if (m->slots[k].used)
				bigger.slots[slot_of(&bigger, m->slots[k].dev, m->slots[k].ino)] = m->slots[k];
		free(m->slots);
		*m = bigger;
	}
	i = slot_of(m, dev, ino);
	if (m->slots[i].used)
		return false;
	m->slots[i] = (struct inode_slot){ dev, ino, name ? xstrdup(name) : NULL, true };
	m->nr++;
	return true;
}

void inode_map_release(struct inode_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].name);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}
