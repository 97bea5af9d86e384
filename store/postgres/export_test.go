package postgres

import "context"

// VacuumIfDead runs one check of db's vacuum loop with the given
// threshold.
func VacuumIfDead(ctx context.Context, db *DB, minDead int64, perLive float64) (bool, error) {
	return db.vacuumIfDead(ctx, minDead, perLive)
}

// AnalyzeIfChanged runs one analyze check of db's loop with the given
// threshold.
func AnalyzeIfChanged(ctx context.Context, db *DB, minChanged int64, perLive float64) (bool, error) {
	return db.analyzeIfChanged(ctx, minChanged, perLive)
}
